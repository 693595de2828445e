import Foundation
import GatewayCore
import Invoicing

/// A rendered document, checked against its schema where one is set.
public struct RenderedDocument: Sendable {
    public var mapping: Mapping
    /// One document, or one per item of a mapping whose root repeats (`each` on the root).
    public var parts: [[UInt8]]
    /// The documents one after the other, for showing and comparing.
    public var bytes: [UInt8] { Array(parts.joined()) }
    /// Schema errors; a document with any is never published.
    public var schemaErrors: [String]
    /// False when no schema folder is configured for this mapping's schema set.
    public var wasValidated: Bool
}

/// The mappings in `mappings/`, loaded and checked once, with their compiled schemas.
public final class MappingCatalog: Sendable {
    public let mappings: [Mapping]
    private let validators: [String: SchemaValidator]
    /// Schema sets a mapping names but gateway.yml gives no folder for: not validated.
    public let unvalidatedSets: Set<String>

    /// Loads every `*.yml` in `folder`; `schemaFolders` maps a schema set name to its folder.
    public init(folder: URL, schemaFolders: [String: String], values: [String: String] = [:]) throws {
        // Every gateway loads its mappings at start-up, before it starts any thread.
        LibXML.prepare()
        let files = ((try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? [])
            .filter { ["yml", "yaml"].contains($0.pathExtension) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        var mappings: [Mapping] = []
        for file in files { mappings.append(try MappingLoader.load(contentsOf: file, values: values)) }
        var validators: [String: SchemaValidator] = [:]
        var unvalidated: Set<String> = []
        for mapping in mappings {
            guard let schema = mapping.schema else { continue }
            guard let base = schemaFolders[schema.set] else { unvalidated.insert(schema.set); continue }
            let path = URL(fileURLWithPath: base).appendingPathComponent(schema.file).path
            if validators[path] == nil { validators[path] = try SchemaValidator(xsd: path) }
        }
        self.mappings = mappings
        self.validators = validators
        self.unvalidatedSets = unvalidated
        self.schemaFolders = schemaFolders
        self.values = values
    }

    private let schemaFolders: [String: String]
    private let values: [String: String]

    public var formatNames: [String] { Array(Set(mappings.map(\.name))).sorted() }

    /// The mapping that renders `kind` for the format `name`.
    public func mapping(named name: String, for kind: InvoiceKind) -> Mapping? {
        mappings.first { $0.name == name && $0.kinds.contains(kind) }
    }

    public func render(_ invoice: Invoice, client: ClientProfile, format name: String) throws(RenderError) -> RenderedDocument {
        guard let mapping = mapping(named: name, for: invoice.kind) else {
            throw RenderError("no mapping in mappings/ renders format \(name) for a\(invoice.kind == .invoice ? "n" : "") \(invoice.kind.rawValue)")
        }
        let model = CanonicalModel.build(invoice, client: client, values: mapping.values.merging(values) { _, site in site })
        var parts: [[UInt8]] = []
        for root in try MappingEngine(mapping: mapping).evaluate(model) {
            parts.append(mapping.output == .json ? try JSONOutput.bytes(of: root) : try XMLOutput.bytes(of: root))
        }
        guard let schema = mapping.schema, let base = schemaFolders[schema.set] else {
            return RenderedDocument(mapping: mapping, parts: parts, schemaErrors: [], wasValidated: false)
        }
        let path = URL(fileURLWithPath: base).appendingPathComponent(schema.file).path
        let errors = parts.flatMap { validators[path]?.errors(in: $0) ?? ["the schema \(path) was not loaded"] }
        return RenderedDocument(mapping: mapping, parts: parts, schemaErrors: errors, wasValidated: true)
    }
}
