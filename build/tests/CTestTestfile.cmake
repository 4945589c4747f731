# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
include("/work/main/build/tests/common_unit_tests[1]_include.cmake")
include("/work/main/build/tests/worker_unit_tests[1]_include.cmake")
include("/work/main/build/tests/client_unit_tests[1]_include.cmake")
include("/work/main/build/tests/daemon_unit_tests[1]_include.cmake")
include("/work/main/build/tests/integration_tests[1]_include.cmake")
