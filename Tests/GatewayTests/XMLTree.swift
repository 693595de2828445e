import CLibXML2
import Foundation
import GatewayTestKit
import Rendering

/// A small read-only XML tree for checking rendered documents, parsed with the same libxml2
/// the gateway uses. (FoundationXML is avoided on purpose: it calls xmlCleanupParser, which
/// frees libxml2's thread-local key while other threads still use libxml2.)
struct XMLTree {
    var name: String
    var attributes: [String: String]
    var text: String
    var children: [XMLTree]

    static func parse(_ bytes: [UInt8]) throws -> XMLTree {
        LibXML.prepare()
        let doc: xmlDocPtr? = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlReadMemory($0, Int32(buffer.count), "test.xml", "UTF-8", Int32(XML_PARSE_NONET.rawValue))
            }
        }
        guard let doc, let root = xmlDocGetRootElement(doc) else { throw CocoaError(.fileReadCorruptFile) }
        defer { xmlFreeDoc(doc) }
        return tree(root)
    }

    private static func string(_ pointer: UnsafePointer<xmlChar>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }

    private static func tree(_ node: xmlNodePtr) -> XMLTree {
        var attributes: [String: String] = [:]
        var attribute = node.pointee.properties
        while let a = attribute {
            let value = xmlNodeGetContent(UnsafeMutableRawPointer(a).assumingMemoryBound(to: xmlNode.self))
            attributes[string(a.pointee.name)] = string(value)
            clibxml2_free(value)
            attribute = a.pointee.next
        }
        var children: [XMLTree] = []
        var text = ""
        var child = node.pointee.children
        while let c = child {
            if c.pointee.type == XML_ELEMENT_NODE { children.append(tree(c)) }
            if c.pointee.type == XML_TEXT_NODE, let content = xmlNodeGetContent(c) {
                text += String(cString: content)
                clibxml2_free(content)
            }
            child = c.pointee.next
        }
        return XMLTree(name: string(node.pointee.name), attributes: attributes, text: text, children: children)
    }

    func children(_ name: String) -> [XMLTree] { children.filter { $0.name == name } }
    func child(_ name: String) -> XMLTree? { children.first { $0.name == name } }
    /// The text of the first child of that name.
    func value(_ name: String) -> String? { child(name)?.text }
    /// Every element of that name below this one, in document order.
    func all(_ name: String) -> [XMLTree] { children.flatMap { ($0.name == name ? [$0] : []) + $0.all(name) } }
}
