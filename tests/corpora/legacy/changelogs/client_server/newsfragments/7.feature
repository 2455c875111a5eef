Farewells may be sent before leaving.
