// SPDX-License-Identifier: MIT
// Compiles one public header, included first, as C++17 with -Wall -Werror:
// an application written in C++ includes them as they are.
#include HEADER

int main()
{
	return 0;
}
