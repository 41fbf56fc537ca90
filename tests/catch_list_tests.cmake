# Run after a test executable is built (see catch_tests.cmake): writes TESTS_FILE with one add_test per
# Catch2 test case. Inputs: EXECUTABLE, GROUP, PROPERTIES (a list), WORKING_DIRECTORY, TESTS_FILE.
cmake_minimum_required(VERSION 3.16)  # IN_LIST
execute_process(
  COMMAND "${EXECUTABLE}" --list-test-names-only
  OUTPUT_VARIABLE output
  ERROR_VARIABLE errors
  RESULT_VARIABLE result
  WORKING_DIRECTORY "${WORKING_DIRECTORY}")
# Catch2 v2 exits with the number of test cases it listed.
if(NOT result MATCHES "^[0-9]+$")
  message(FATAL_ERROR "${EXECUTABLE} --list-test-names-only failed (${result}):\n${output}${errors}")
endif()

# Test cases tagged [serial] (timing that other tests running beside them would distort) run alone.
execute_process(
  COMMAND "${EXECUTABLE}" "[serial]" --list-test-names-only
  OUTPUT_VARIABLE serial_output
  WORKING_DIRECTORY "${WORKING_DIRECTORY}")
string(REPLACE ";" "<semicolon>" serial_output "${serial_output}")
string(REPLACE "\n" ";" serial_lines "${serial_output}")
# Test cases tagged [cpu] (pgbench runs, thousands of connections) keep both cores busy: they count as
# two of ctest's -j slots, so that ctest -j runs waiting tests beside them but not two of them at once
# per two cores.
execute_process(
  COMMAND "${EXECUTABLE}" "[cpu]" --list-test-names-only
  OUTPUT_VARIABLE cpu_output
  WORKING_DIRECTORY "${WORKING_DIRECTORY}")
string(REPLACE ";" "<semicolon>" cpu_output "${cpu_output}")
string(REPLACE "\n" ";" cpu_lines "${cpu_output}")

# Each element in [==[...]==] so that ';', spaces and quotes stay part of one argument.
set(properties "")
foreach(property IN LISTS PROPERTIES)
  string(APPEND properties " [==[${property}]==]")
endforeach()

# Split on newlines only: a test case name may hold ';', which a CMake list would split on.
string(REPLACE ";" "<semicolon>" output "${output}")
string(REPLACE "\n" ";" lines "${output}")
set(script "")
set(count 0)
foreach(line IN LISTS lines)
  string(REPLACE "<semicolon>" ";" name "${line}")
  string(STRIP "${name}" name)
  if(name STREQUAL "")
    continue()
  endif()
  # On Catch2's command line a backslash escapes, ',' separates test specs and '[' ']' enclose tags.
  set(spec "${name}")
  foreach(char "\\" "," "[" "]")
    string(REPLACE "${char}" "\\${char}" spec "${spec}")
  endforeach()
  # A leading '-' would be read as an option: a leading wildcard stands for it instead.
  if(spec MATCHES "^-")
    string(SUBSTRING "${spec}" 1 -1 spec)
    set(spec "*${spec}")
  endif()
  set(test "${GROUP}: ${name}")
  string(APPEND script "add_test([==[${test}]==] [==[${EXECUTABLE}]==] [==[${spec}]==])\n")
  set(serial "")
  if(line IN_LIST serial_lines)
    set(serial " RUN_SERIAL TRUE")
  elseif(line IN_LIST cpu_lines)
    set(serial " PROCESSORS 2")
  endif()
  string(APPEND script "set_tests_properties([==[${test}]==] PROPERTIES WORKING_DIRECTORY [==[${WORKING_DIRECTORY}]==]"
                       "${properties}${serial})\n")
  math(EXPR count "${count} + 1")
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "${EXECUTABLE} lists no test case")
endif()
file(WRITE "${TESTS_FILE}" "${script}")
