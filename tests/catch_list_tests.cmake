# Run after a test executable is built (see catch_tests.cmake): writes TESTS_FILE with one add_test per
# Catch2 test case. Inputs: EXECUTABLE, GROUP, PROPERTIES (a list), LABEL_TAGS (a list of Catch2 tags
# without brackets that become ctest labels), WORKING_DIRECTORY, TESTS_FILE.
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

# The lines `--list-test-names-only` prints for the test cases that match `spec` (a Catch2 tag), each
# line as listed, in `out`.
function(list_tagged spec out)
  execute_process(
    COMMAND "${EXECUTABLE}" "${spec}" --list-test-names-only
    OUTPUT_VARIABLE tagged_output
    WORKING_DIRECTORY "${WORKING_DIRECTORY}")
  string(REPLACE ";" "<semicolon>" tagged_output "${tagged_output}")
  string(REPLACE "\n" ";" tagged_lines "${tagged_output}")
  set(${out} "${tagged_lines}" PARENT_SCOPE)
endfunction()

# Test cases tagged [serial] (timing that other tests running beside them would distort) run alone.
list_tagged("[serial]" serial_lines)
# Test cases tagged [cpu] (pgbench runs, thousands of connections) keep both cores busy: they count as
# two of ctest's -j slots, so that ctest -j runs waiting tests beside them but not two of them at once
# per two cores.
list_tagged("[cpu]" cpu_lines)
# Test cases tagged [long] (over three seconds, most of it waiting) start first (COST), beside the short
# ones, so that none of them is left to run alone at the end. Not many: waiting tests in every slot leave
# the cores idle. (ctest cannot keep the durations it measures: its cost file splits names at spaces.)
# A [cpu] test is never [long]: it needs two slots free at once, which ctest gives only once no shorter
# test is queued, so its COST would not start it early.
list_tagged("[long]" long_lines)
# Test cases tagged with one of LABEL_TAGS get that tag as a ctest label (ctest -L drivers).
foreach(tag IN LISTS LABEL_TAGS)
  list_tagged("[${tag}]" label_lines_${tag})
endforeach()

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
  if(line IN_LIST long_lines)
    string(APPEND serial " COST 10")
  endif()
  set(labels "")
  foreach(tag IN LISTS LABEL_TAGS)
    if(line IN_LIST label_lines_${tag})
      list(APPEND labels "${tag}")
    endif()
  endforeach()
  if(labels)
    string(APPEND serial " LABELS [==[${labels}]==]")
  endif()
  string(APPEND script "set_tests_properties([==[${test}]==] PROPERTIES WORKING_DIRECTORY [==[${WORKING_DIRECTORY}]==]"
                       "${properties}${serial})\n")
  math(EXPR count "${count} + 1")
endforeach()
if(count EQUAL 0)
  message(FATAL_ERROR "${EXECUTABLE} lists no test case")
endif()
file(WRITE "${TESTS_FILE}" "${script}")
