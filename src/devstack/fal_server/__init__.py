"""A local server that speaks fal's queue protocol over TLS and produces real media, so the
real fal-client (and so the whole product) runs offline. See `python -m devstack.fal_server -h`."""
