#ifndef CPANGOCAIRO_SHIM_H
#define CPANGOCAIRO_SHIM_H
#include <cairo.h>
#include <cairo-pdf.h>
#include <pango/pangocairo.h>

/* PANGO_SCALE and PANGO_PIXELS are macros Swift does not import. */
static inline int pango_shim_scale(void) { return PANGO_SCALE; }
#endif
