"""Clients of the outside world (blockchain, IPFS, email): no models, no project imports, settings passed in
by constructor. The apps build them from settings (pinning.services.ipfs_backend, ...)."""
