// Shim over libxml2 for Swift: the headers Baton uses, plus small helpers that hide
// libxml2's global function-pointer variables (xmlFree) from Swift's strict concurrency.
#ifndef BATON_CLIBXML2_SHIM_H
#define BATON_CLIBXML2_SHIM_H
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

static inline void baton_xml_free(void *pointer) { xmlFree(pointer); }

/// The value of an attribute node as a newly allocated string (free with baton_xml_free).
static inline xmlChar *baton_attribute_value(xmlAttrPtr attribute) {
    return xmlNodeListGetString(attribute->doc, attribute->children, 1);
}
#endif
