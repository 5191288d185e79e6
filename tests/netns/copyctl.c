/* SPDX-License-Identifier: MIT */
/* Negative control for the copycount shim: copies 1 KiB 1000 times through
 * calls the compiler cannot inline, so a working shim must count >= 1000. */
#include <stdio.h>
#include <string.h>

int main(void)
{
	static unsigned char a[1024], b[1024];
	/* volatile: the size is unknown at compile time, so memcpy is a call. */
	volatile size_t n = sizeof(a);
	unsigned sum = 0;

	for (int i = 0; i < 1000; i++) {
		a[i % sizeof(a)] = (unsigned char)i;
		if (i & 1)
			memmove(b, a, n);
		else
			memcpy(b, a, n);
		sum += b[i % sizeof(b)];
	}
	printf("%u\n", sum);
	return 0;
}
