# The driver and ORM suite (this folder): test cases of integration_tests that run real client libraries
# (pgjdbc, asyncpg, psycopg 3, Django, SQLAlchemy, node-postgres, postgres.js) against pgtenant. Included by
# tests/integration/CMakeLists.txt after pgtenant_catch_tests(integration_tests ...).
#
# Their ctest tests ("integration: <test case>") get the label `drivers` from their Catch2 tag (LABEL_TAGS
# in tests/integration/CMakeLists.txt): ctest --test-dir build -L drivers
file(GLOB DRIVER_SUITE_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cc)
target_sources(integration_tests PRIVATE ${DRIVER_SUITE_SOURCES})
# Where the suite keeps what it makes at test time in this build tree (the compiled pgjdbc program).
target_compile_definitions(integration_tests PRIVATE PGTENANT_DRIVER_BUILD_DIR="${CMAKE_CURRENT_BINARY_DIR}/drivers")
