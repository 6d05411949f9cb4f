/* Nothing to compile: the module is fuzzer_driver.h (a C target needs a source). */
#include "fuzzer_driver.h"
