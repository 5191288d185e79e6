/* SPDX-License-Identifier: MIT */
/*
 * The negative control of the fuzz smoke run (suite fuzz-smoke): a target
 * with a planted heap overflow, reached by its seed input "boom". The smoke
 * test of this target passes only if libFuzzer stops on the ASan report and
 * writes the input out, which proves that a crash in a real target fails
 * `make check`. Built with libFuzzer only; never part of the library.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 4 && memcmp(data, "boom", 4) == 0) {
		char *buf = malloc(4);
		volatile char c;

		if (!buf)
			return 0;
		c = buf[size]; /* size >= 4: one past the end at least */
		(void)c;
		free(buf);
	}
	return 0;
}
