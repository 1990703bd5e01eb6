"""The running program: settings, command line, channels."""
