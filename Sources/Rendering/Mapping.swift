import Foundation
import GatewayCore
import Invoicing
import Yams

/// A mapping file: data that says how the canonical invoice becomes one output document.
/// A class: it is loaded once, checked, and then shared by every rendering thread.
public final class Mapping: Sendable {
    public enum Output: String, Sendable { case xml, json }

    public struct Schema: Sendable, Hashable {
        /// The name of a schema folder set in gateway.yml (`schemas:`).
        public var set: String
        /// The XSD inside that folder.
        public var file: String
    }

    public struct Requirement: Sendable {
        public var path: [String]
        public var reason: String
        public var line: Int
    }

    /// The name settings refer to (`format: peppol-bis3`); several files may share it, one per kind.
    public let name: String
    public let file: String
    public let kinds: Set<InvoiceKind>
    public let output: Output
    public let schema: Schema?
    public let codes: [String: [String: String]]
    /// The site values (`settings.*`) this mapping reads, with their defaults; gateway.yml's
    /// `mappingValues:` overrides them.
    public let values: [String: String]
    /// Values without which the document is not worth sending, with the reason a person reads.
    public let requirements: [Requirement]
    public let root: ElementTemplate

    init(name: String, file: String, kinds: Set<InvoiceKind>, output: Output, schema: Schema?, codes: [String: [String: String]],
         values: [String: String], requirements: [Requirement], root: ElementTemplate) {
        self.name = name
        self.file = file
        self.kinds = kinds
        self.output = output
        self.schema = schema
        self.codes = codes
        self.values = values
        self.requirements = requirements
        self.root = root
    }
}

/// One element of the output and how to fill it.
public struct ElementTemplate: Sendable {
    public var name: String
    public var line: Int
    public var attributes: [(name: String, value: Template)]
    public var text: Template?
    public var children: [ElementTemplate]
    /// Repeat this element for each item of a collection, naming the item.
    public var each: (path: [String], alias: String)?
    /// How a JSON writer types the value; XML ignores it.
    public var valueType: OutputElement.ValueType = .string
    /// Keep the element only when each `if` path has a value (or is true) and no `unless` path has.
    public var conditions: [(path: [String], negated: Bool)]
}

/// Text with `{path|formatter}` placeholders.
public struct Template: Sendable {
    public enum Piece: Sendable {
        case literal(String)
        case field(path: [String], formatters: [Formatter])
    }
    public var pieces: [Piece]
    public var line: Int
    public var hasFields: Bool { pieces.contains { if case .field = $0 { true } else { false } } }
}

public struct MappingError: Error, Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int?
    public let message: String
    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }
    public var description: String { "\(file)\(line.map { ":\($0)" } ?? ""): \(message)" }
}

/// Reads a mapping file and checks every reference against the canonical model before any
/// invoice is rendered.
public enum MappingLoader {
    /// `values` are the site's `settings.*` constants a mapping may name.
    public static func load(contentsOf url: URL, values: [String: String] = [:]) throws(MappingError) -> Mapping {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw MappingError(file: url.lastPathComponent, line: nil, message: "cannot be read as UTF-8: \(error.localizedDescription)")
        }
        return try parse(text, file: url.lastPathComponent, values: values)
    }

    public static func parse(_ text: String, file: String, values: [String: String] = [:]) throws(MappingError) -> Mapping {
        func fail(_ node: Node?, _ message: String) -> MappingError {
            MappingError(file: file, line: node?.mark?.line, message: message)
        }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { throw fail(nil, "the file is empty") }
            root = node
        } catch let error as MappingError {
            throw error
        } catch {
            throw MappingError(file: file, line: nil, message: "is not valid YAML: \(error)")
        }
        guard case .mapping(let top) = root else { throw fail(root, "expected keys name, kinds, output, document") }
        let known: Set<String> = ["name", "kinds", "output", "schema", "codes", "values", "requires", "document", "description"]
        for (key, _) in top where !known.contains(key.string ?? "") {
            throw fail(key, "unknown key \"\(key.string ?? "")\"; expected one of \(known.sorted().joined(separator: ", "))")
        }
        guard let name = top["name"]?.string, !name.isEmpty else { throw fail(root, "name: the format name is required") }
        var kinds: Set<InvoiceKind> = [.invoice]
        if let kindsNode = top["kinds"] {
            guard case .sequence(let seq) = kindsNode else { throw fail(kindsNode, "kinds: expected a list such as [invoice, credit]") }
            kinds = []
            for item in seq {
                guard let kind = item.string.flatMap(InvoiceKind.init(rawValue:)) else {
                    throw fail(item, "kinds: expected invoice, credit or reminder, found \(item.string ?? "a group")")
                }
                kinds.insert(kind)
            }
        }
        let outputText = top["output"]?.string ?? "xml"
        guard let output = Mapping.Output(rawValue: outputText) else { throw fail(top["output"], "output: expected xml or json, found \(outputText)") }
        var schema: Mapping.Schema?
        if let schemaNode = top["schema"] {
            guard let set = schemaNode["set"]?.string, let xsd = schemaNode["file"]?.string else {
                throw fail(schemaNode, "schema: expected {set: NAME, file: PATH.xsd}")
            }
            schema = Mapping.Schema(set: set, file: xsd)
        }
        var codes: [String: [String: String]] = [:]
        if let codesNode = top["codes"] {
            guard case .mapping(let lists) = codesNode else { throw fail(codesNode, "codes: expected named code lists") }
            for (listName, listNode) in lists {
                guard let listKey = listName.string, case .mapping(let entries) = listNode else {
                    throw fail(listNode, "codes: each code list maps values to codes, e.g. unit: {st: C62}")
                }
                var table: [String: String] = [:]
                for (k, v) in entries {
                    guard let from = k.string, let to = v.string else { throw fail(v, "codes.\(listKey): expected value: code") }
                    table[from] = to
                }
                codes[listKey] = table
            }
        }
        var defaults: [String: String] = [:]
        if let valuesNode = top["values"] {
            guard case .mapping(let entries) = valuesNode else { throw fail(valuesNode, "values: expected NAME: default text") }
            for (k, v) in entries {
                guard let key = k.string, let value = v.string else { throw fail(v, "values: expected NAME: default text") }
                defaults[key] = value
            }
        }
        var requirements: [Mapping.Requirement] = []
        if let requiresNode = top["requires"] {
            guard case .sequence(let items) = requiresNode else { throw fail(requiresNode, "requires: expected a list of {path, reason}") }
            for item in items {
                guard let path = item["path"]?.string, let reason = item["reason"]?.string else {
                    throw fail(item, "requires: each entry needs path and reason")
                }
                requirements.append(.init(path: path.split(separator: ".").map(String.init), reason: reason, line: item.mark?.line ?? 0))
            }
        }
        guard let documentNode = top["document"] else { throw fail(root, "document: the output's root element is required") }
        let element = try parseElement(documentNode, file: file)
        if output == .json, let line = firstAttributeLine(element) {
            throw MappingError(file: file, line: line, message: "a json mapping has no attributes; use a child element")
        }
        let mapping = Mapping(name: name, file: file, kinds: kinds, output: output, schema: schema, codes: codes,
                              values: defaults, requirements: requirements, root: element)
        try MappingChecker(mapping: mapping, values: mapping.values.merging(values) { _, site in site }).check()
        return mapping
    }

    private static func parseElement(_ node: Node, file: String) throws(MappingError) -> ElementTemplate {
        func fail(_ node: Node?, _ message: String) -> MappingError { MappingError(file: file, line: node?.mark?.line, message: message) }
        guard case .mapping(let pair) = node, pair.count == 1, let (nameNode, body) = pair.first.map({ ($0.key, $0.value) }),
              let name = nameNode.string else {
            throw fail(node, "expected one element as `NAME: value` or `NAME: {children: [...]}`")
        }
        let line = nameNode.mark?.line ?? 0
        var element = ElementTemplate(name: name, line: line, attributes: [], text: nil, children: [], each: nil, conditions: [])
        switch body {
        case .scalar(let scalar):
            element.text = try parseTemplate(scalar.string, line: line, file: file)
        case .mapping(let members):
            for (keyNode, value) in members {
                guard let key = keyNode.string else { throw fail(keyNode, "expected a key") }
                let keyLine = keyNode.mark?.line ?? line
                if key.hasPrefix("@") {
                    guard let text = value.string else { throw fail(value, "\(key): an attribute takes text") }
                    element.attributes.append((String(key.dropFirst()), try parseTemplate(text, line: keyLine, file: file)))
                    continue
                }
                switch key {
                case "value":
                    guard let text = value.string else { throw fail(value, "value: expected text") }
                    element.text = try parseTemplate(text, line: keyLine, file: file)
                case "children":
                    guard case .sequence(let items) = value else { throw fail(value, "children: expected a list of elements") }
                    for item in items { element.children.append(try parseElement(item, file: file)) }
                case "each":
                    let words = (value.string ?? "").split(separator: " ")
                    guard words.count == 3, words[1] == "as" else { throw fail(value, "each: expected `PATH as NAME`, e.g. `invoice.lines as line`") }
                    element.each = (words[0].split(separator: ".").map(String.init), String(words[2]))
                case "type":
                    guard let type = value.string.flatMap(OutputElement.ValueType.init(rawValue:)) else {
                        throw fail(value, "type: expected string, number or boolean")
                    }
                    element.valueType = type
                case "if", "unless":
                    guard let path = value.string, !path.isEmpty else { throw fail(value, "\(key): expected a path") }
                    element.conditions.append((path.split(separator: ".").map(String.init), key == "unless"))
                default:
                    throw fail(keyNode, "unknown key \"\(key)\" in element \(name); expected value, children, each, if, unless, type or @attribute")
                }
            }
            if element.text != nil, !element.children.isEmpty { throw fail(body, "\(name): an element has either a value or children, not both") }
        default:
            throw fail(body, "\(name): expected text or a group")
        }
        return element
    }

    private static func firstAttributeLine(_ element: ElementTemplate) -> Int? {
        if !element.attributes.isEmpty { return element.attributes[0].value.line }
        return element.children.lazy.compactMap(firstAttributeLine).first
    }

    static func parseTemplate(_ text: String, line: Int, file: String) throws(MappingError) -> Template {
        var pieces: [Template.Piece] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(where: { $0 == "{" || $0 == "}" }) {
            literal += rest[..<open]
            let next = rest.index(after: open)
            if next < rest.endIndex, rest[next] == rest[open] {  // {{ and }} are literal braces
                literal.append(rest[open])
                rest = rest[rest.index(after: next)...]
                continue
            }
            guard rest[open] == "{", let close = rest[next...].firstIndex(of: "}") else {
                throw MappingError(file: file, line: line, message: "unbalanced brace in \"\(text)\" (write {{ or }} for a literal brace)")
            }
            let parts = rest[next..<close].split(separator: "|", omittingEmptySubsequences: false)
            let path = parts[0].trimmingCharacters(in: .whitespaces)
            guard !path.isEmpty else { throw MappingError(file: file, line: line, message: "an empty {} in \"\(text)\"") }
            var formatters: [Formatter] = []
            for part in parts.dropFirst() {
                guard let formatter = Formatter.parse(part) else {
                    throw MappingError(file: file, line: line, message: "unknown formatter \"\(part)\"; the formatters are \(Formatter.names.joined(separator: ", "))")
                }
                formatters.append(formatter)
            }
            if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
            pieces.append(.field(path: path.split(separator: ".").map(String.init), formatters: formatters))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        return Template(pieces: pieces, line: line)
    }
}
