# Turns orrery.h into lua/orrery/cdef.lua: the header after the C
# preprocessor, so that the FFI declarations can never drift from it.
execute_process(
  COMMAND ${CC} -E -P -DORR_FFI_CDEF ${HEADER}
  OUTPUT_VARIABLE decls
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "preprocessing ${HEADER} failed")
endif()
file(WRITE ${OUTPUT}.tmp "-- generated from core/include/orrery.h by lua/gen_cdef.cmake; do not edit\nreturn [==[\n${decls}]==]\n")
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
