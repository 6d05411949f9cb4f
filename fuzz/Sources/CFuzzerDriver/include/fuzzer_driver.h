/* libFuzzer's driver, for a main of our own: SwiftPM links an executable's main
 * under its own name, so the fuzzer runtime's main cannot be used. */
#ifndef FUZZER_DRIVER_H
#define FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv,
                        int (*callback)(const uint8_t *data, size_t size));

#endif
