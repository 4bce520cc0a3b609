/* Restores PyEval_CallObject for durable_rules 2.0.28 on Python 3.13 and later.
 *
 * durable_rules' C engine calls PyEval_CallObject, a function CPython removed in 3.13
 * (it was a macro for PyEval_CallObjectWithKeywords before). Its extension then fails to
 * load with "undefined symbol: PyEval_CallObject". This module exports a function of that
 * name with the old meaning; qpr_rules.engine.durable_import loads it into the global symbol
 * table (RTLD_GLOBAL) before durable_rules is imported, so the dynamic linker resolves the
 * missing symbol here. On 3.11 and 3.12 it is built but never loaded. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#ifdef PyEval_CallObject
#undef PyEval_CallObject
#endif

PyAPI_FUNC(PyObject *) PyEval_CallObject(PyObject *callable, PyObject *args);

PyObject *PyEval_CallObject(PyObject *callable, PyObject *args) {
    return PyObject_CallObject(callable, args);
}

static struct PyModuleDef shim_module = {
    PyModuleDef_HEAD_INIT, "_pyeval_shim",
    "PyEval_CallObject for durable_rules on Python 3.13+", -1, NULL,
};

PyMODINIT_FUNC PyInit__pyeval_shim(void) { return PyModule_Create(&shim_module); }
