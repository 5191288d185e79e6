/* SPDX-License-Identifier: MIT */
/* TR_API marks the functions libtunroom exports; everything else stays hidden. */
#ifndef TR_LIB_API_H
#define TR_LIB_API_H

#define TR_API __attribute__((visibility("default")))

#endif
