import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that nothing listens on right now, for a local server to bind."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
