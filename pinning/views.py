"""URL entry points of the embedded IPFS node: the gateway and the Kubo-compatible RPC subset."""

from django.views.decorators.csrf import csrf_exempt

from pinning import gateway, kubo_api, services


def ipfs_gateway(request, cid: str, path: str = ""):
    return gateway.ipfs_gateway(request, cid, path, node=services.ipfs_node())


@csrf_exempt
def kubo_rpc(request, command: str):
    return kubo_api.kubo_rpc(request, command, node=services.ipfs_node())
