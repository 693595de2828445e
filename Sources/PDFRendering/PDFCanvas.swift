import CPangoCairo
import Foundation

/// A colour as the template gives it (`#1F4E79`).
public struct RGB: Sendable, Hashable {
    public var red, green, blue: Double

    public init?(hex: String) {
        guard hex.count == 7, hex.first == "#", let value = UInt32(hex.dropFirst(), radix: 16) else { return nil }
        red = Double((value >> 16) & 0xFF) / 255
        green = Double((value >> 8) & 0xFF) / 255
        blue = Double(value & 0xFF) / 255
    }

    public static let black = RGB(hex: "#000000")!
}

/// Points per millimetre: PDF pages are measured in points (1/72 inch).
let mm = 72.0 / 25.4

/// One PDF document being drawn with cairo and pango: text is laid out and shaped by pango,
/// fonts are found through fontconfig and embedded by cairo as subsets, so every character
/// the font has prints anywhere. The bytes collect in memory.
final class PDFCanvas {
    enum Alignment { case left, right, center }

    struct Font: Hashable {
        var size: Double
        var bold = false
    }

    private final class Sink {
        var bytes: [UInt8] = []
    }

    let width: Double
    let height: Double
    private let sink = Sink()
    private let surface: OpaquePointer
    private let context: OpaquePointer
    private let layout: OpaquePointer
    private let family: String
    private var fonts: [Font: OpaquePointer] = [:]
    private var decoded: (bytes: [UInt8], image: PNGImage)?

    init(widthMM: Double, heightMM: Double, family: String, metadata: [(cairo_pdf_metadata_t, String)]) {
        width = widthMM * mm
        height = heightMM * mm
        self.family = family
        let write: cairo_write_func_t = { closure, data, length in
            let sink = Unmanaged<Sink>.fromOpaque(closure!).takeUnretainedValue()
            sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
            return CAIRO_STATUS_SUCCESS
        }
        surface = cairo_pdf_surface_create_for_stream(write, Unmanaged.passUnretained(sink).toOpaque(), width, height)
        for (key, value) in metadata { cairo_pdf_surface_set_metadata(surface, key, value) }
        context = cairo_create(surface)
        layout = pango_cairo_create_layout(context)
    }

    deinit {
        for font in fonts.values { pango_font_description_free(font) }
        g_object_unref(UnsafeMutableRawPointer(layout))
        cairo_destroy(context)
        cairo_surface_destroy(surface)
    }

    private func description(_ font: Font) -> OpaquePointer {
        if let known = fonts[font] { return known }
        let made = pango_font_description_new()!
        pango_font_description_set_family(made, family)
        pango_font_description_set_weight(made, font.bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL)
        pango_font_description_set_absolute_size(made, font.size * Double(pango_shim_scale()))
        fonts[font] = made
        return made
    }

    private func prepare(_ text: String, width: Double?, font: Font, alignment: Alignment) {
        pango_layout_set_font_description(layout, description(font))
        pango_layout_set_width(layout, width.map { Int32($0 * Double(pango_shim_scale())) } ?? -1)
        pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR)
        switch alignment {
        case .left: pango_layout_set_alignment(layout, PANGO_ALIGN_LEFT)
        case .right: pango_layout_set_alignment(layout, PANGO_ALIGN_RIGHT)
        case .center: pango_layout_set_alignment(layout, PANGO_ALIGN_CENTER)
        }
        pango_layout_set_text(layout, text, -1)
    }

    /// The height text takes when laid out in `width` (points).
    func measure(_ text: String, width: Double?, font: Font) -> Double {
        prepare(text, width: width, font: font, alignment: .left)
        var logical = PangoRectangle()
        pango_layout_get_extents(layout, nil, &logical)
        return Double(logical.height) / Double(pango_shim_scale())
    }

    /// Draws text with its top left at (x, y) points; returns the height it took.
    @discardableResult
    func text(_ text: String, x: Double, y: Double, width: Double? = nil, font: Font, alignment: Alignment = .left,
              colour: RGB = .black) -> Double {
        prepare(text, width: width, font: font, alignment: alignment)
        cairo_set_source_rgb(context, colour.red, colour.green, colour.blue)
        var logical = PangoRectangle()
        pango_layout_get_extents(layout, nil, &logical)
        cairo_move_to(context, x, y)
        pango_cairo_show_layout(context, layout)
        return Double(logical.height) / Double(pango_shim_scale())
    }

    func fill(x: Double, y: Double, width: Double, height: Double, colour: RGB) {
        cairo_set_source_rgb(context, colour.red, colour.green, colour.blue)
        cairo_rectangle(context, x, y, width, height)
        cairo_fill(context)
    }

    func line(from: (Double, Double), to: (Double, Double), width: Double = 0.5, colour: RGB) {
        cairo_set_source_rgb(context, colour.red, colour.green, colour.blue)
        cairo_set_line_width(context, width)
        cairo_move_to(context, from.0, from.1)
        cairo_line_to(context, to.0, to.1)
        cairo_stroke(context)
    }

    /// Draws a PNG scaled to fit the box, keeping its proportions, at the box's top left.
    func image(png: [UInt8], x: Double, y: Double, maxWidth: Double, maxHeight: Double) {
        // Decoded once per document, not once per page that shows it.
        if decoded?.bytes != png { decoded = PNGImage(png).map { (png, $0) } }
        guard let image = decoded?.image else { return }
        let scale = min(maxWidth / Double(image.width), maxHeight / Double(image.height))
        cairo_save(context)
        cairo_translate(context, x, y)
        cairo_scale(context, scale, scale)
        cairo_set_source_surface(context, image.surface, 0, 0)
        cairo_paint(context)
        cairo_restore(context)
    }

    /// A QR code, `side` points wide with a quiet zone of four modules inside it. It is drawn as
    /// a one-pixel-per-module image scaled without smoothing: a few hundred bytes in the PDF,
    /// where a rectangle per module would be thousands of path operators to write and compress.
    func qr(_ matrix: QRMatrix, x: Double, y: Double, side: Double) {
        let size = Int32(matrix.size + 8)
        guard let image = cairo_image_surface_create(CAIRO_FORMAT_RGB24, size, size) else { return }
        defer { cairo_surface_destroy(image) }
        cairo_surface_flush(image)
        let stride = Int(cairo_image_surface_get_stride(image))
        let pixels = cairo_image_surface_get_data(image)!
        for row in 0..<Int(size) {
            let line = UnsafeMutableRawPointer(pixels + row * stride).assumingMemoryBound(to: UInt32.self)
            for column in 0..<Int(size) {
                let r = row - 4, c = column - 4
                let dark = r >= 0 && c >= 0 && r < matrix.size && c < matrix.size && matrix.isDark(row: r, column: c)
                line[column] = dark ? 0x000000 : 0xFFFFFF
            }
        }
        cairo_surface_mark_dirty(image)
        cairo_save(context)
        cairo_translate(context, x, y)
        cairo_scale(context, side / Double(size), side / Double(size))
        cairo_set_source_surface(context, image, 0, 0)
        cairo_pattern_set_filter(cairo_get_source(context), CAIRO_FILTER_NEAREST)
        cairo_paint(context)
        cairo_restore(context)
    }

    func newPage() { cairo_show_page(context) }

    /// Ends the document and returns its bytes.
    func finish() -> [UInt8] {
        cairo_show_page(context)
        cairo_surface_finish(surface)
        return sink.bytes
    }
}

/// A PNG decoded by cairo from bytes in memory.
final class PNGImage {
    let surface: OpaquePointer
    var width: Int32 { cairo_image_surface_get_width(surface) }
    var height: Int32 { cairo_image_surface_get_height(surface) }

    private final class Source {
        let bytes: [UInt8]
        var offset = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }
    }

    init?(_ png: [UInt8]) {
        let source = Source(png)
        let read: cairo_read_func_t = { closure, data, length in
            let source = Unmanaged<Source>.fromOpaque(closure!).takeUnretainedValue()
            let count = Int(length)
            guard source.offset + count <= source.bytes.count else { return CAIRO_STATUS_READ_ERROR }
            source.bytes.withUnsafeBufferPointer { buffer in
                data!.update(from: buffer.baseAddress! + source.offset, count: count)
            }
            source.offset += count
            return CAIRO_STATUS_SUCCESS
        }
        let made = withExtendedLifetime(source) {
            cairo_image_surface_create_from_png_stream(read, Unmanaged.passUnretained(source).toOpaque())
        }
        guard let made, cairo_surface_status(made) == CAIRO_STATUS_SUCCESS else {
            if let made { cairo_surface_destroy(made) }
            return nil
        }
        surface = made
    }

    deinit { cairo_surface_destroy(surface) }
}
