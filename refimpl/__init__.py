"""refimpl: an executable reference implementation of the federation protocol.

Pure protocol logic over plain, immutable data; no I/O outside
:mod:`refimpl.transport`. Never imports specgen.

Module map:

- :mod:`refimpl.errors`         M_* codes and the one exception hierarchy
- :mod:`refimpl.room_versions`  room versions 1-12 as a table of deltas
"""
