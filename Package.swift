// swift-tools-version:6.1
import PackageDescription

// The modules follow the path an order file travels:
// intake -> ledger -> invoicing -> rendering -> (distribution, delivery), with `Gateway`
// wiring them together and `gateway` as the command line over it.
let package = Package(
    name: "invoice-gateway",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "gateway", targets: ["gateway"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"])]),
        .systemLibrary(name: "CLibSSH2", pkgConfig: "libssh2", providers: [.apt(["libssh2-1-dev"])]),
        .systemLibrary(name: "CPangoCairo", pkgConfig: "pangocairo", providers: [.apt(["libpango1.0-dev", "libcairo2-dev"])]),
        .systemLibrary(name: "CQREncode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),

        // Values every stage shares: money, dates, the clock. No I/O.
        .target(name: "GatewayCore"),
        // SHA-256 content keys and file digests (swift-crypto, kept out of the domain modules).
        .target(name: "Checksums", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // Parsing and validating inbox documents (CONTRACT.md), exact decimals, file forms.
        .target(name: "Intake", dependencies: ["GatewayCore"]),
        // Pure invoicing rules: settings precedence, amounts, VAT, rounding, OCR, credits.
        .target(name: "Invoicing", dependencies: ["GatewayCore"]),
        // The ledger: the single source of truth, SQLite through GRDB behind one protocol.
        .target(name: "Ledger", dependencies: [
            "GatewayCore", "Invoicing", "Checksums",
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // Pure distribution rules: which artefacts and method, to whom, the undo window, reminders.
        .target(name: "Distribution", dependencies: ["GatewayCore", "Invoicing"]),
        // Mappings kept as data -> XML bytes through libxml2, validated against XSDs.
        .target(name: "Rendering", dependencies: ["GatewayCore", "Invoicing", "CLibXML2", "Yams"]),
        // Invoices for people: PDF drawn with cairo and pango from templates kept as data, with the payment QR code.
        .target(name: "PDFRendering", dependencies: ["GatewayCore", "Invoicing", "Distribution", "CPangoCairo", "CQREncode", "Yams"]),
        // Transports that take outbox files to the outside world: SFTP over libssh2, SMTP over libcurl.
        .target(name: "Delivery", dependencies: ["GatewayCore", "CLibSSH2", "CCurl"]),
        // The pipeline: configuration, inbox -> ledger -> invoices -> outbox -> delivery.
        .target(name: "Gateway", dependencies: [
            "GatewayCore", "Checksums", "Intake", "Invoicing", "Ledger", "Distribution", "Rendering", "PDFRendering", "Delivery", "Yams",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // `gateway run`: the watcher, the schedules and the stop, as a ServiceGroup over the pipeline,
        // with its metrics and health on a loopback HTTP address (Hummingbird: only this module).
        .target(name: "GatewayService", dependencies: [
            "Gateway", "GatewayCore", "Distribution", "Ledger",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .executableTarget(name: "gateway", dependencies: [
            "Gateway", "GatewayService", "Delivery", "Distribution", "GatewayCore", "Intake", "Invoicing", "Ledger", "Rendering",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Benchmarks print figures; they are never timed tests.
        .executableTarget(name: "render-bench", dependencies: ["Gateway", "Rendering", "PDFRendering", "Invoicing", "GatewayCore"], path: "Benchmarks/RenderBench"),

        // What the tests share: fresh homes, real test servers (sshd, aiosmtpd, CUPS), child processes.
        .target(name: "GatewayTestKit", dependencies: ["GatewayCore"], path: "Sources/GatewayTestKit"),

        .testTarget(name: "GatewayCoreTests", dependencies: ["GatewayCore"]),
        .testTarget(name: "ChecksumsTests", dependencies: ["Checksums"]),
        .testTarget(name: "IntakeTests", dependencies: ["Intake", "GatewayCore"]),
        .testTarget(name: "InvoicingTests", dependencies: ["Invoicing", "GatewayCore"]),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "Checksums", "Invoicing", "GatewayCore"]),
        .testTarget(name: "DistributionTests", dependencies: ["Distribution", "Invoicing", "GatewayCore"]),
        .testTarget(name: "RenderingTests", dependencies: ["Rendering", "Invoicing", "GatewayCore"]),
        .testTarget(name: "PDFRenderingTests", dependencies: ["PDFRendering", "Distribution", "Invoicing", "GatewayCore"]),
        .testTarget(name: "GatewayServiceTests", dependencies: ["GatewayService", "Gateway", "GatewayTestKit", "Distribution", "GatewayCore"]),
        .testTarget(name: "GatewayTests", dependencies: ["Gateway", "GatewayTestKit", "Checksums", "Delivery", "Distribution", "GatewayCore", "Invoicing", "Ledger", "Rendering", "PDFRendering", "CLibXML2"],
                    exclude: ["Golden"]),
    ]
)
