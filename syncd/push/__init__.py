"""The endpoint Planfix pushes contact changes to: protocol, the HTTP app, and the queue it feeds.

It only queues what was pushed; the service turns the queue into push-only cycles, so the endpoint
imports neither the engine nor the service.
"""
