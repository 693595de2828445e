import CLibXML2
import Foundation

/// Writes an output tree through libxml2's streaming writer, so the bytes are well-formed
/// and escaped by construction.
enum XMLOutput {
    static func bytes(of root: OutputElement) throws(RenderError) -> [UInt8] {
        LibXML.initialise
        guard let buffer = xmlBufferCreate() else { throw RenderError("libxml2 could not allocate a buffer") }
        defer { xmlBufferFree(buffer) }
        guard let writer = xmlNewTextWriterMemory(buffer, 0) else { throw RenderError("libxml2 could not create a writer") }
        var failed = false
        func check(_ result: Int32) { if result < 0 { failed = true } }
        check(xmlTextWriterSetIndent(writer, 1))
        check(withXMLChar("  ") { xmlTextWriterSetIndentString(writer, $0) })
        check(xmlTextWriterStartDocument(writer, "1.0", "UTF-8", nil))
        func write(_ element: OutputElement) {
            check(withXMLChar(element.name) { xmlTextWriterStartElement(writer, $0) })
            for attribute in element.attributes {
                check(withXMLChar(attribute.name) { name in withXMLChar(attribute.value) { xmlTextWriterWriteAttribute(writer, name, $0) } })
            }
            if let text = element.text { check(withXMLChar(text) { xmlTextWriterWriteString(writer, $0) }) }
            for child in element.children { write(child) }
            check(xmlTextWriterEndElement(writer))
        }
        write(root)
        check(xmlTextWriterEndDocument(writer))
        xmlFreeTextWriter(writer)
        guard !failed, let content = xmlBufferContent(buffer) else { throw RenderError("libxml2 failed to write the document") }
        return Array(UnsafeBufferPointer(start: content, count: Int(xmlBufferLength(buffer))))
    }
}

/// libxml2 must be initialised once, before any thread calls into it: until then its
/// per-thread state lives under an uncreated key, and a thread touching it early corrupts
/// whatever owns that key (seen here as heap corruption in libdispatch's thread cleanup).
public enum LibXML {
    static let initialise: Void = {
        xmlInitParser()
        // The XSD built-in types are a global table that xmlSchemaParse fills lazily and
        // without a lock; two gateways compiling schemas at once corrupted the heap.
        xmlSchemaInitTypes()
    }()
    /// Call before using libxml2 directly; loading a `MappingCatalog` does.
    public static func prepare() { initialise }
}

func withXMLChar<R>(_ text: String, _ body: (UnsafePointer<xmlChar>) -> R) -> R {
    text.withCString { pointer in pointer.withMemoryRebound(to: xmlChar.self, capacity: text.utf8.count + 1) { body($0) } }
}

/// One XSD, compiled once per process and shared; each validation gets its own context,
/// as libxml2 requires for use from several threads.
public final class SchemaValidator: @unchecked Sendable {
    private let schema: xmlSchemaPtr
    public let path: String

    public init(xsd path: String) throws(RenderError) {
        LibXML.initialise
        guard FileManager.default.fileExists(atPath: path) else { throw RenderError("the schema \(path) does not exist") }
        let collector = ErrorCollector()
        guard let parser = xmlSchemaNewParserCtxt(path) else { throw RenderError("the schema \(path) could not be opened") }
        defer { xmlSchemaFreeParserCtxt(parser) }
        xmlSchemaSetParserStructuredErrors(parser, collectError, Unmanaged.passUnretained(collector).toOpaque())
        guard let schema = xmlSchemaParse(parser) else {
            throw RenderError("the schema \(path) could not be compiled: \(collector.messages.prefix(3).joined(separator: "; "))")
        }
        self.schema = schema
        self.path = path
    }

    deinit { xmlSchemaFree(schema) }

    /// The schema errors of a document, line-numbered; empty when it is valid.
    public func errors(in document: [UInt8]) -> [String] {
        let collector = ErrorCollector()
        let doc: xmlDocPtr? = document.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlReadMemory($0, Int32(buffer.count), "document.xml", "UTF-8", Int32(XML_PARSE_NONET.rawValue))
            }
        }
        guard let doc else { return ["the document is not well-formed XML"] }
        defer { xmlFreeDoc(doc) }
        guard let context = xmlSchemaNewValidCtxt(schema) else { return ["libxml2 could not create a validation context"] }
        defer { xmlSchemaFreeValidCtxt(context) }
        xmlSchemaSetValidStructuredErrors(context, collectError, Unmanaged.passUnretained(collector).toOpaque())
        let result = xmlSchemaValidateDoc(context, doc)
        if result == 0 { return [] }
        return collector.messages.isEmpty ? ["the document is not valid (libxml2 code \(result))"] : collector.messages
    }
}

private final class ErrorCollector {
    var messages: [String] = []
}

private func collectError(_ userData: UnsafeMutableRawPointer?, _ error: xmlErrorPtr?) {
    guard let userData, let error else { return }
    let collector = Unmanaged<ErrorCollector>.fromOpaque(userData).takeUnretainedValue()
    let message = error.pointee.message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown error"
    collector.messages.append(error.pointee.line > 0 ? "line \(error.pointee.line): \(message)" : message)
}
