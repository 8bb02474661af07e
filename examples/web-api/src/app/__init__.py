"""web-api: the Python application shipped (as bytecode) in the prod image."""
