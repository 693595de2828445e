import Foundation
import GatewayCore
import Invoicing
import Rendering
import Testing

@Suite struct MappingLanguageTests {
    @Test func unknownFieldIsRefusedWithLineAndSuggestion() {
        let text = """
        name: broken
        document:
          Invoice:
            children:
              - ID: "{invoice.numbr}"
        """
        do {
            _ = try MappingLoader.parse(text, file: "broken.yml")
            Issue.record("a broken mapping was accepted")
        } catch {
            #expect(error.line == 5)
            #expect(error.message.contains("invoice.number"))
        }
    }

    @Test func formatterTypeIsChecked() {
        let text = """
        name: broken
        document:
          Invoice:
            children:
              - ID: "{invoice.number|amount}"
        """
        #expect(throws: MappingError.self) { try MappingLoader.parse(text, file: "broken.yml") }
    }

    @Test func eachNeedsACollection() {
        let text = """
        name: broken
        document:
          Invoice:
            children:
              - Line:
                  each: invoice.number as line
                  children:
                    - ID: "{line.position}"
        """
        #expect(throws: MappingError.self) { try MappingLoader.parse(text, file: "broken.yml") }
    }

    @Test func everyDocumentedPathHasAnExample() {
        let rows = CanonicalModel.reference()
        #expect(rows.contains { $0.path == "invoice.lines[].net" })
        #expect(rows.filter { $0.type != "collection" }.allSatisfy { !$0.example.isEmpty })
    }
}
