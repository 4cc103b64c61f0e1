"""The GUI's side of the compute process (`cnnviz.compute`): `compute_client.py` (ComputeClient: start,
request, cancel, crash and restart), `latest_request.py` (LatestRequest: one request in flight, the
newest waiting) and `model_loader.py` (ModelLoader: load or restore the current model). Every other
GUI module reaches the compute process through these, with the messages of `compute/protocol.py`.
"""
