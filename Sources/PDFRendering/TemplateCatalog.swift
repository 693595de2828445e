import Foundation

/// The templates of a gateway home (`templates/*.yml`) and the client's logo, loaded and
/// checked once at start-up: a broken template or a logo that is not a PNG stops the gateway
/// with the file and what is wrong, before any invoice is drawn.
public struct TemplateCatalog: Sendable {
    public let templates: [String: InvoiceTemplate]
    public let logo: [UInt8]?

    public init(folder: URL, logo: URL?) throws(TemplateError) {
        var templates: [String: InvoiceTemplate] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names.sorted() where name.hasSuffix(".yml") || name.hasSuffix(".yaml") {
            let template = try InvoiceTemplate.load(contentsOf: folder.appendingPathComponent(name))
            templates[template.name] = template
        }
        self.templates = templates
        if let logo {
            guard let bytes = try? Data(contentsOf: logo), PNGImage(Array(bytes)) != nil else {
                throw TemplateError(file: logo.path, key: nil, expected: "a PNG image for the client's logo", found: nil)
            }
            self.logo = Array(bytes)
        } else {
            self.logo = nil
        }
    }

    /// The renderer for a template, or why there is none.
    public func renderer(_ name: String) -> Result<InvoicePDF, TemplateError> {
        guard let template = templates[name] else {
            return .failure(TemplateError(file: "templates/\(name).yml", key: nil,
                                          expected: "the template \(name) (templates/ has: \(templates.keys.sorted().joined(separator: ", ")))", found: "nothing"))
        }
        return .success(InvoicePDF(template: template, logo: logo))
    }
}
