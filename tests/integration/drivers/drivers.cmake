# The driver and ORM suite (this folder): test cases of integration_tests that run real client libraries
# (pgjdbc, asyncpg, psycopg 3, Django, SQLAlchemy, node-postgres, postgres.js) against pgtenant. Included by
# tests/integration/CMakeLists.txt after pgtenant_catch_tests(integration_tests ...).
#
# Their ctest tests ("integration: <test case>") get the label `drivers`; those tagged [awaits-vstate]
# (they fail until pgtenant keeps each client's session state, issue 23) the label `awaits_vstate` too:
#   ctest --test-dir build -L drivers        ctest --test-dir build -LE awaits_vstate
file(GLOB DRIVER_SUITE_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cc)
target_sources(integration_tests PRIVATE ${DRIVER_SUITE_SOURCES})
# Where the suite keeps what it makes at test time in this build tree (the compiled pgjdbc program).
target_compile_definitions(integration_tests PRIVATE PGTENANT_DRIVER_BUILD_DIR="${CMAKE_CURRENT_BINARY_DIR}/drivers")

set(driver_labels_file "${CMAKE_CURRENT_BINARY_DIR}/integration_tests_driver_labels.cmake")
add_custom_command(
  TARGET integration_tests POST_BUILD
  BYPRODUCTS "${driver_labels_file}"
  COMMAND "${CMAKE_COMMAND}"
          -D "EXECUTABLE=$<TARGET_FILE:integration_tests>"
          -D "GROUP=integration"
          -D "WORKING_DIRECTORY=${CMAKE_CURRENT_BINARY_DIR}"
          -D "LABELS_FILE=${driver_labels_file}"
          -P "${CMAKE_CURRENT_LIST_DIR}/driver_labels.cmake"
  VERBATIM)
# Read by ctest after the file that adds the tests (TEST_INCLUDE_FILES are included in order).
set(driver_labels_include "${CMAKE_CURRENT_BINARY_DIR}/integration_tests_driver_labels_include.cmake")
file(WRITE "${driver_labels_include}"
  "if(EXISTS \"${driver_labels_file}\")\n"
  "  include(\"${driver_labels_file}\")\n"
  "endif()\n")
set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${driver_labels_include}")
