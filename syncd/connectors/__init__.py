"""The two remote systems as the engine sees them: the ``Connector`` protocol (``base``), the
shared HTTP transport (``http``), and one package per system, neither importing the other."""
