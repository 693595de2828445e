import Foundation
import GatewayCore

/// Writes an output tree as JSON: `{"Root": {...}}`. Children become members, siblings made by
/// `each` become an array, and values are typed by the mapping (`type: number`).
enum JSONOutput {
    static func bytes(of root: OutputElement) throws(RenderError) -> [UInt8] {
        var out = "{" + root.name.jsonQuoted + ": "
        try write(root, into: &out, indent: 1)
        out += "}\n"
        return Array(out.utf8)
    }

    private static func write(_ element: OutputElement, into out: inout String, indent: Int) throws(RenderError) {
        if let text = element.text {
            switch element.valueType {
            case .string: out += text.jsonQuoted
            case .number:
                guard Decimal(exactly: Substring(text)) != nil else {
                    throw RenderError("\(element.name): \"\(text)\" is not a number")
                }
                out += text
            case .boolean:
                guard text == "true" || text == "false" else { throw RenderError("\(element.name): \"\(text)\" is not true or false") }
                out += text
            }
            return
        }
        let pad = String(repeating: "  ", count: indent)
        out += "{\n"
        var index = 0
        var first = true
        while index < element.children.count {
            let child = element.children[index]
            if !first { out += ",\n" }
            first = false
            out += pad + "  " + child.name.jsonQuoted + ": "
            if child.repeated {
                var run = [child]
                while index + 1 < element.children.count, element.children[index + 1].repeated, element.children[index + 1].name == child.name {
                    index += 1
                    run.append(element.children[index])
                }
                out += "["
                for (i, item) in run.enumerated() {
                    out += i == 0 ? "\n" + pad + "    " : ",\n" + pad + "    "
                    try write(item, into: &out, indent: indent + 2)
                }
                out += "\n" + pad + "  ]"
            } else {
                try write(child, into: &out, indent: indent + 1)
            }
            index += 1
        }
        out += "\n" + pad + "}"
    }
}
