# Run after integration_tests is built (see drivers.cmake): writes LABELS_FILE, which gives the ctest
# tests of the test cases tagged [drivers] the label `drivers`, and of those also tagged [awaits-vstate]
# the label `awaits_vstate`. Inputs: EXECUTABLE, GROUP, WORKING_DIRECTORY, LABELS_FILE. Test names are
# made as in tests/catch_list_tests.cmake ("<group>: <test case>").
cmake_minimum_required(VERSION 3.16)

function(list_test_cases spec out)
  execute_process(
    COMMAND "${EXECUTABLE}" "${spec}" --list-test-names-only
    OUTPUT_VARIABLE output
    RESULT_VARIABLE result
    WORKING_DIRECTORY "${WORKING_DIRECTORY}")
  # Catch2 v2 exits with the number of test cases it listed.
  if(NOT result MATCHES "^[0-9]+$")
    message(FATAL_ERROR "${EXECUTABLE} ${spec} --list-test-names-only failed (${result}):\n${output}")
  endif()
  string(REPLACE ";" "<semicolon>" output "${output}")
  string(REPLACE "\n" ";" lines "${output}")
  set(names "")
  foreach(line IN LISTS lines)
    string(STRIP "${line}" name)
    if(NOT name STREQUAL "")
      list(APPEND names "${name}")
    endif()
  endforeach()
  set(${out} "${names}" PARENT_SCOPE)
endfunction()

list_test_cases("[drivers]" drivers)
list_test_cases("[awaits-vstate]" awaiting)
set(names ${drivers} ${awaiting})
list(REMOVE_DUPLICATES names)
set(script "")
foreach(name IN LISTS names)
  set(labels "drivers")
  if(name IN_LIST awaiting)
    set(labels "drivers;awaits_vstate")
  endif()
  string(REPLACE "<semicolon>" ";" test "${GROUP}: ${name}")
  string(APPEND script "set_tests_properties([==[${test}]==] PROPERTIES LABELS [==[${labels}]==])\n")
endforeach()
file(WRITE "${LABELS_FILE}" "${script}")
