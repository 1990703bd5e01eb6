"""Channel adapters: each turns platform updates into Incoming values and renders Replies."""
