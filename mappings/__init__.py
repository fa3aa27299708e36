"""The configurable field-mapping layer: mapping files (``spec``, ``loading``, ``validate``),
transforms, and the ``Mapper``.

Never imports ``syncd``: the daemon depends on this package, not the other way round.
"""
