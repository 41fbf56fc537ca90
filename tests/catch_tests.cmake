# pgtenant_catch_tests(): every Catch2 test case of an executable as a ctest test of its own.
#
# Like catch_discover_tests() of Catch2's CMake module, but test case names may hold ';' (the module's
# script splits them into several tests). After each build, catch_list_tests.cmake runs the executable
# with --list-test-names-only and writes one add_test per test case, named "<group>: <test case>", run
# as `executable "<test case>"`, with the given ctest properties; a test case tagged [serial] also gets
# RUN_SERIAL (ctest runs nothing beside it), one tagged [cpu] PROCESSORS 2 (two of ctest's -j slots), one
# tagged [long] a COST (ctest starts it before the untagged ones), and one tagged with a tag of
# LABEL_TAGS that tag as a ctest label.
#
#   pgtenant_catch_tests(TARGET GROUP name [PROPERTIES prop value ...] [LABEL_TAGS tag ...])
function(pgtenant_catch_tests target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "GROUP" "PROPERTIES;LABEL_TAGS")
  set(tests_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_catch_tests.cmake")
  add_custom_command(
    TARGET ${target} POST_BUILD
    BYPRODUCTS "${tests_file}"
    COMMAND "${CMAKE_COMMAND}"
            -D "EXECUTABLE=$<TARGET_FILE:${target}>"
            -D "GROUP=${arg_GROUP}"
            -D "PROPERTIES=${arg_PROPERTIES}"
            -D "LABEL_TAGS=${arg_LABEL_TAGS}"
            -D "WORKING_DIRECTORY=${CMAKE_CURRENT_BINARY_DIR}"
            -D "TESTS_FILE=${tests_file}"
            -P "${PGTENANT_CATCH_LIST_SCRIPT}"
    VERBATIM)
  # Until the first build has listed the tests, one test that says so.
  set(include_file "${CMAKE_CURRENT_BINARY_DIR}/${target}_catch_include.cmake")
  file(WRITE "${include_file}"
    "if(EXISTS \"${tests_file}\")\n"
    "  include(\"${tests_file}\")\n"
    "else()\n"
    "  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\n"
    "endif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES "${include_file}")
endfunction()

set(PGTENANT_CATCH_LIST_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/catch_list_tests.cmake")
