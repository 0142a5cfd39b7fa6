"""PySide6 + pyqtgraph views and the controller that wires them. Never touches a tensor."""

import sys as _sys

if _sys.version_info < (3, 12):
    # PySide6 6.12 drops references to None, True and False it never took (e.g. the result of
    # SignalInstance.emit(), virtual calls such as QGraphicsItem.setPos or setRect); Python
    # 3.12+ makes these objects immortal, so only older Pythons notice: after a few thousand
    # such calls the interpreter aborts with "none_dealloc" / "bool_dealloc". Give them
    # enough references never to run out (ob_refcnt is the first field of every object).
    import ctypes as _ctypes

    for _obj in (None, True, False):
        _ctypes.c_ssize_t.from_address(id(_obj)).value += 1 << 40
