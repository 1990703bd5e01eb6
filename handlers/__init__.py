"""Conversations: the channel-neutral engine and one module per service."""
