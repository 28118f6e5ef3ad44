"""Code generated from the KServe v2 ``grpc_predict_v2.proto`` (see the header of each module).

Imported only by :mod:`saveur.serving.grpc_server`, when ``saveur serve --grpc-port`` is given.
"""
