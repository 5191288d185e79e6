/* SPDX-License-Identifier: MIT */
/* Compiles one public header, included first, to prove it is self-contained. */
#include HEADER

int main(void)
{
	return 0;
}
