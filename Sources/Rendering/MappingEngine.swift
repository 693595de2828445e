import Foundation
import GatewayCore
import Invoicing

/// One element of a rendered document, before it is written in the output's syntax.
public struct OutputElement: Sendable, Hashable {
    public var name: String
    public var attributes: [Attribute]
    public var text: String?
    public var children: [OutputElement]
    /// Made by `each`: a JSON writer gathers such siblings into an array.
    public var repeated = false
    public var valueType: ValueType = .string

    public enum ValueType: String, Sendable, Hashable { case string, number, boolean }

    public struct Attribute: Sendable, Hashable {
        public var name: String
        public var value: String
    }
}

/// Evaluates a mapping for one invoice. Elements whose values are all empty are left out,
/// and so are groups whose children were all left out.
public struct MappingEngine: Sendable {
    public let mapping: Mapping

    public init(mapping: Mapping) { self.mapping = mapping }

    /// The documents of one invoice: one, or one per item when the root element has `each`
    /// (Fortnox takes one article per request, say).
    public func evaluate(_ model: [String: ModelValue]) throws(RenderError) -> [OutputElement] {
        for requirement in mapping.requirements where lookup(requirement.path, in: model).isEmpty {
            throw RenderError("\(mapping.name): \(requirement.reason) (\(requirement.path.joined(separator: ".")) is empty)")
        }
        let roots = try evaluate(mapping.root, scope: model)
        guard !roots.isEmpty else { throw RenderError("\(mapping.file): the document's root element came out empty") }
        return roots
    }

    private func evaluate(_ element: ElementTemplate, scope: [String: ModelValue]) throws(RenderError) -> [OutputElement] {
        if let each = element.each {
            guard case .list(let items, _) = lookup(each.path, in: scope) else { return [] }
            var single = element
            single.each = nil
            var result: [OutputElement] = []
            for item in items {
                var inner = scope
                inner[each.alias] = item
                result += try evaluate(single, scope: inner).map { var e = $0; e.repeated = true; return e }
            }
            return result
        }
        for condition in element.conditions {
            let holds = !lookup(condition.path, in: scope).isEmpty
            if holds == condition.negated { return [] }
        }
        var output = OutputElement(name: element.name, attributes: [], text: nil, children: [], valueType: element.valueType)
        for attribute in element.attributes {
            if let value = try render(attribute.value, scope: scope) {
                output.attributes.append(.init(name: attribute.name, value: value))
            }
        }
        if let text = element.text {
            guard let value = try render(text, scope: scope) else { return [] }
            output.text = value
        } else if !element.children.isEmpty {
            for child in element.children { output.children += try evaluate(child, scope: scope) }
            if output.children.isEmpty { return [] }
        }
        return [output]
    }

    /// The text of a template, or nil when it has fields and all of them are empty.
    private func render(_ template: Template, scope: [String: ModelValue]) throws(RenderError) -> String? {
        var text = ""
        var anyValue = !template.hasFields
        for piece in template.pieces {
            switch piece {
            case .literal(let literal):
                text += literal
            case .field(let path, let formatters):
                var value = lookup(path, in: scope)
                var formatters = formatters
                if case .orElse(let fallback)? = formatters.first {
                    if value.isEmpty, !isFalse(value) { value = .text(fallback) }
                    formatters.removeFirst()
                }
                guard !value.isEmpty || isFalse(value), var piece = Formatter.plain(value) else { continue }
                do {
                    for formatter in formatters { piece = try formatter.apply(value, text: piece, codes: mapping.codes) }
                } catch {
                    throw RenderError("\(mapping.file):\(template.line): \(path.joined(separator: ".")): \(error.message)")
                }
                // A code list may map a value to nothing: that leaves the element out too.
                if piece.isEmpty { continue }
                anyValue = true
                text += piece
            }
        }
        return anyValue ? text : nil
    }

    /// `false` is a value to write (ChargeIndicator), though it does not satisfy `if:`.
    private func isFalse(_ value: ModelValue) -> Bool { value == .bool(false) }

    private func lookup(_ path: [String], in scope: [String: ModelValue]) -> ModelValue {
        var current: ModelValue = .object(scope)
        for key in path {
            guard case .object(let members) = current, let next = members[key] else { return .text(nil) }
            current = next
        }
        return current
    }
}
