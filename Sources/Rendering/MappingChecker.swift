import Foundation

/// Checks every path, formatter and collection of a mapping against the canonical model,
/// naming the line and the nearest valid path.
struct MappingChecker {
    let mapping: Mapping
    var values: [String: String] = [:]

    func check() throws(MappingError) {
        for requirement in mapping.requirements {
            _ = try resolve(requirement.path, in: CanonicalModel.example(values: values), line: requirement.line)
        }
        try check(mapping.root, scope: CanonicalModel.example(values: values))
    }

    private func fail(_ line: Int, _ message: String) -> MappingError {
        MappingError(file: mapping.file, line: line, message: message)
    }

    private func check(_ element: ElementTemplate, scope: [String: ModelValue]) throws(MappingError) {
        var scope = scope
        if let each = element.each {
            let value = try resolve(each.path, in: scope, line: element.line)
            guard case .list(let items, let shape) = value else {
                throw fail(element.line, "each: \(each.path.joined(separator: ".")) is \(value.typeName), not a collection")
            }
            scope[each.alias] = items.first ?? .object(shape)
        }
        for condition in element.conditions {
            _ = try resolve(condition.path, in: scope, line: element.line)
        }
        for attribute in element.attributes { try check(attribute.value, scope: scope) }
        if let text = element.text { try check(text, scope: scope) }
        for child in element.children { try check(child, scope: scope) }
    }

    private func check(_ template: Template, scope: [String: ModelValue]) throws(MappingError) {
        for case .field(let path, let formatters) in template.pieces {
            let value = try resolve(path, in: scope, line: template.line)
            var type = value.typeName
            guard type != "group", type != "collection" else {
                throw fail(template.line, "\(path.joined(separator: ".")) is a \(type); name one of its fields")
            }
            for formatter in formatters {
                guard formatter.accepts.contains(type) else {
                    throw fail(template.line, "the formatter in {\(path.joined(separator: "."))|...} takes \(formatter.accepts.sorted().joined(separator: " or ")), but the value is \(type)")
                }
                if case .code(let list) = formatter, mapping.codes[list] == nil {
                    throw fail(template.line, "code:\(list): no code list \(list) in this mapping's codes")
                }
                type = "text"   // a formatter makes text of anything
            }
        }
    }

    private func resolve(_ path: [String], in scope: [String: ModelValue], line: Int) throws(MappingError) -> ModelValue {
        var current: ModelValue = .object(scope)
        var walked: [String] = []
        for key in path {
            guard case .object(let members) = current, let next = members[key] else {
                let candidates = validPaths(from: scope)
                let wanted = path.joined(separator: ".")
                let nearest = candidates.min { Self.distance($0, wanted) < Self.distance($1, wanted) } ?? ""
                throw fail(line, "unknown field \(wanted)" + (walked.isEmpty ? "" : " (no \(key) in \(walked.joined(separator: ".")))")
                           + "; did you mean \(nearest)?")
            }
            walked.append(key)
            current = next
        }
        return current
    }

    private func validPaths(from scope: [String: ModelValue]) -> [String] {
        var paths: [String] = []
        func walk(_ value: ModelValue, _ prefix: String) {
            paths.append(prefix)
            if case .object(let members) = value { for (k, v) in members { walk(v, prefix + "." + k) } }
        }
        for (k, v) in scope { walk(v, k) }
        return paths
    }

    /// Levenshtein distance, to name the nearest valid path.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }
}
