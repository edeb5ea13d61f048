// The single Catch2 (v2) main of every unit test binary.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
