import Foundation
import GatewayCore
#if canImport(Glibc)
import Glibc
#endif

/// The repository this test kit is part of (Sources/GatewayTestKit/ is two folders down).
public let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
public let sharedReference = repository.deletingLastPathComponent().appendingPathComponent("shared/reference")
public let validatorTool = repository.deletingLastPathComponent().appendingPathComponent("shared/tools/einvoice-validate")

/// A fresh gateway home with the repository's mappings and, where ../shared is present, its schemas.
public func makeHome(defaults: String = "") throws -> URL {
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: home.appendingPathComponent("inbox"), withIntermediateDirectories: true)
    try FileManager.default.copyItem(at: repository.appendingPathComponent("mappings"), to: home.appendingPathComponent("mappings"))
    try FileManager.default.copyItem(at: repository.appendingPathComponent("templates"), to: home.appendingPathComponent("templates"))
    var schemas = "schemas: {}"
    if FileManager.default.fileExists(atPath: sharedReference.path) {
        schemas = """
        schemas:
          ubl-2.1: \(sharedReference.path)/peppol-bis-3/xsd
          svefaktura-1.0: \(sharedReference.path)/svefaktura-1.0/xsd
        """
    }
    let config = """
    client:
      id: test
      name: Test & Söner AB
      organisationNumber: 556000-0001
      vatNumber: SE556000000101
      address: {street: Testvägen 1, postalCode: "411 01", city: Göteborg, country: SE}
      email: faktura@test.example
      bankgiro: 5050-1055
      roundToWholeKronor: true
      defaults: {format: peppol-bis3, termsOfPaymentDays: 30\(defaults)}
    \(schemas)
    """
    try Data(config.utf8).write(to: home.appendingPathComponent("gateway.yml"))
    return home
}

public func drop(_ text: String, as name: String, in home: URL) throws {
    try Data(text.utf8).write(to: home.appendingPathComponent("inbox").appendingPathComponent(name))
}

public func files(in folder: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
}

public let testClock = FixedClock(Instant.parse("2026-11-25T10:00:00+01:00")!)

public func customer(_ number: String, kind: String = "organisation", name: String = "Kund AB", extra: String = "") -> String {
    // An organisation gets an organisation number unless the test gives its own: Peppol needs an address for it.
    let extra = kind == "organisation" && !extra.contains("organisationNumber") ? #", "organisationNumber": "556677-8899""# + extra : extra
    return """
    {"type": "customer", "customerNumber": "\(number)", "kind": "\(kind)", "name": "\(name)",
     "address": {"street": "Gatan 1", "postalCode": "111 22", "city": "Stockholm", "country": "SE"}\(extra)}
    """
}

public func order(_ number: String, customer: String, lines: String? = nil, extra: String = "") -> String {
    let lines = lines ?? #"[{"articleNumber": "A-1", "description": "Skruv", "quantity": 2, "unit": "st", "unitPrice": "89.00", "vatRate": 25}]"#
    return """
    {"type": "order", "orderNumber": "\(number)", "customerNumber": "\(customer)", "status": "completed",
     "orderDate": "2026-11-20", "completedAt": "2026-11-21T14:03:00+01:00", "lines": \(lines)\(extra)}
    """
}

/// Runs the official validator on files; nil when it cannot run here (no ../shared, no saxonche).
public func officialValidation(_ paths: [String]) -> (passed: Bool, output: String)? {
    guard Probes.haveOfficialValidator, let run = try? Subprocess.run(validatorTool.path, ["-v"] + paths) else { return nil }
    return (run.status == 0, run.output)
}

public let gatewayBinary = repository.appendingPathComponent(".build/debug/gateway")
public let haveBinary = FileManager.default.isExecutableFile(atPath: gatewayBinary.path)

/// Appends settings to a home's gateway.yml.
public func addSettings(_ yaml: String, to home: URL) throws {
    let url = home.appendingPathComponent("gateway.yml")
    try Data((try String(contentsOf: url, encoding: .utf8) + "\n" + yaml + "\n").utf8).write(to: url)
}

/// A relay on loopback (nothing needs to listen until a push) and a folder standing in for the
/// print house, so that e-mail and central print have their transports and are active (D2, D12).
public func addMailAndPrintHouse(to home: URL, port: Int = 2525) throws {
    try addSettings("""
    email:
      relay: {host: 127.0.0.1, port: \(port), security: none}
      from: "Test & Söner AB <faktura@test.example>"
    folders:
      print-house: {directory: \(home.appendingPathComponent("print-house").path), outbox: 21grams}
    """, to: home)
}
