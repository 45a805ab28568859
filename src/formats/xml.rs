//! A small XML tree on top of quick-xml, shared by the XML formats.
//!
//! The GPMC files are small, so each is read into a tree first and then checked element by
//! element; that keeps the format parsers readable and lets unknown elements be carried along
//! verbatim. Writing goes through [`XmlOut`], which emits quick-xml events but lets the caller
//! control every byte of whitespace, because GPMC's files have a peculiar fixed layout.

use std::borrow::Cow;

use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesCData, BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::name::QName;

use super::error::{FormatError, Problem};

/// Deeper nesting than this is refused: no GPMC file comes close, and it bounds the recursion
/// of everything that walks the tree.
const MAX_DEPTH: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// Qualified name as written (`bkp:ID`, `q1:Policy`, `GPO`).
    pub name: String,
    /// Attributes in document order, values unescaped.
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Node>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
    CData(String),
    Comment(String),
}

/// A parsed document: whether it had an XML declaration, comments before the root, the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    pub has_declaration: bool,
    pub prolog_comments: Vec<String>,
    pub root: Element,
}

impl Element {
    pub fn new(name: impl Into<String>) -> Self {
        Element { name: name.into(), attributes: Vec::new(), children: Vec::new() }
    }

    /// The name without its namespace prefix.
    pub fn local_name(&self) -> &str {
        local(&self.name)
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
    }

    /// Concatenated text and CDATA directly inside this element.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for node in &self.children {
            match node {
                Node::Text(t) | Node::CData(t) => out.push_str(t),
                _ => {}
            }
        }
        out
    }

    /// `None` for an element with no content at all (`<X/>` or `<X></X>`), else its text.
    /// GPMC writes absent values as `<X/>` and present ones (even empty) as CDATA.
    pub fn optional_text(&self) -> Option<String> {
        if self.children.iter().any(|n| matches!(n, Node::Text(_) | Node::CData(_))) { Some(self.text()) } else { None }
    }

    /// Builder: an element holding one CDATA section.
    pub fn with_cdata(name: impl Into<String>, value: &str) -> Self {
        let mut e = Element::new(name);
        e.children.push(Node::CData(value.to_string()));
        e
    }
}

pub fn local(name: &str) -> &str {
    name.rsplit_once(':').map(|(_, l)| l).unwrap_or(name)
}

pub fn is_whitespace(text: &str) -> bool {
    text.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
}

/// Parses `text` into a tree. `file` names the file in errors.
///
/// DOCTYPE declarations and processing instructions are refused: GPMC never writes them, and
/// refusing them keeps entity tricks out of files that may come from untrusted shares.
pub fn parse(text: &str, file: &str) -> Result<Document, FormatError> {
    parse_with(text, file, None)
}

/// Like [`parse`], but each element directly below the root is handed to `on_child`, with the
/// root (its name and attributes, no children) beside it, as soon as it is complete, instead of
/// being kept in the tree; the root keeps its text and comments. For large files made of many
/// small records, such as a manifest.xml listing a hundred thousand backups: the same checks,
/// without holding the whole tree.
pub fn parse_streaming(text: &str, file: &str, on_child: &mut ChildSink<'_>) -> Result<Document, FormatError> {
    parse_with(text, file, Some(on_child))
}

/// Receives the root (without children) and one complete child element of it.
pub type ChildSink<'a> = dyn FnMut(&Element, Element) -> Result<(), FormatError> + 'a;

fn parse_with(text: &str, file: &str, mut on_child: Option<&mut ChildSink<'_>>) -> Result<Document, FormatError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let malformed =
        |position: u64, detail: String| FormatError::new(file, None, Problem::Malformed { position, detail });

    let mut has_declaration = false;
    let mut prolog_comments = Vec::new();
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut seen_anything = false;

    loop {
        let position = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => return Err(malformed(reader.error_position(), e.to_string())),
        };
        match event {
            Event::Decl(_) => {
                if seen_anything {
                    return Err(malformed(position, "XML declaration not at the start".into()));
                }
                has_declaration = true;
            }
            Event::Start(start) => {
                if root.is_some() && stack.is_empty() {
                    return Err(malformed(position, "more than one root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed(position, format!("nested deeper than {MAX_DEPTH}")));
                }
                stack.push(element_from(&start, position, file)?);
            }
            Event::Empty(start) => {
                let element = element_from(&start, position, file)?;
                let below_root = stack.len() == 1;
                match stack.last_mut() {
                    Some(root) if below_root && on_child.is_some() => {
                        if let Some(sink) = on_child.as_mut() {
                            sink(root, element)?;
                        }
                    }
                    Some(parent) => parent.children.push(Node::Element(element)),
                    None if root.is_none() => root = Some(element),
                    None => return Err(malformed(position, "more than one root element".into())),
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| malformed(position, "stray end tag".into()))?;
                let below_root = stack.len() == 1;
                match stack.last_mut() {
                    Some(root) if below_root && on_child.is_some() => {
                        if let Some(sink) = on_child.as_mut() {
                            sink(root, element)?;
                        }
                    }
                    Some(parent) => parent.children.push(Node::Element(element)),
                    None => root = Some(element),
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|e| malformed(position, e.to_string()))?;
                push_text(&mut stack, &text, position, file)?;
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(ch)) => ch.to_string(),
                    Ok(None) => {
                        let name = r.decode().map_err(|e| malformed(position, e.to_string()))?;
                        match name.as_ref() {
                            "amp" => "&".into(),
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            other => {
                                return Err(malformed(position, format!("unknown entity &{other};")));
                            }
                        }
                    }
                    Err(e) => return Err(malformed(position, e.to_string())),
                };
                push_text(&mut stack, &resolved, position, file)?;
            }
            Event::CData(c) => {
                let text = c.decode().map_err(|e| malformed(position, e.to_string()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::CData(text.into_owned())),
                    None => {
                        return Err(malformed(position, "CDATA outside the root element".into()));
                    }
                }
            }
            Event::Comment(c) => {
                let text = c.decode().map_err(|e| malformed(position, e.to_string()))?.into_owned();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Comment(text)),
                    None if root.is_none() => prolog_comments.push(text),
                    None => {}
                }
            }
            Event::PI(_) => {
                return Err(malformed(position, "processing instructions are not supported".into()));
            }
            Event::DocType(_) => {
                return Err(malformed(position, "DOCTYPE declarations are not supported".into()));
            }
            Event::Eof => break,
        }
        seen_anything = true;
    }
    if let Some(open) = stack.last() {
        return Err(malformed(reader.buffer_position(), format!("file ends inside <{}>", open.name)));
    }
    let root = root.ok_or_else(|| malformed(0, "no root element".into()))?;
    Ok(Document { has_declaration, prolog_comments, root })
}

fn push_text(stack: &mut [Element], text: &str, position: u64, file: &str) -> Result<(), FormatError> {
    match stack.last_mut() {
        Some(parent) => {
            if let Some(Node::Text(previous)) = parent.children.last_mut() {
                previous.push_str(text);
            } else {
                parent.children.push(Node::Text(text.to_string()));
            }
            Ok(())
        }
        None if is_whitespace(text) => Ok(()),
        None => Err(FormatError::new(
            file,
            None,
            Problem::Malformed { position, detail: "text outside the root element".into() },
        )),
    }
}

fn element_from(start: &BytesStart<'_>, position: u64, file: &str) -> Result<Element, FormatError> {
    let malformed = |detail: String| FormatError::new(file, None, Problem::Malformed { position, detail });
    let name = std::str::from_utf8(start.name().as_ref()).map_err(|e| malformed(e.to_string()))?.to_string();
    let mut attributes = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| malformed(e.to_string()))?;
        let key = std::str::from_utf8(attr.key.as_ref()).map_err(|e| malformed(e.to_string()))?;
        let value = attr.unescape_value().map_err(|e| malformed(e.to_string()))?;
        attributes.push((key.to_string(), value.into_owned()));
    }
    Ok(Element { name, attributes, children: Vec::new() })
}

/// Escapes an attribute value the way MSXML and .NET do (`&`, `<`, `>`, `"`), plus the
/// characters an XML parser would otherwise normalise away.
pub fn escape_attribute(value: &str) -> Cow<'_, str> {
    if !value.contains(['&', '<', '>', '"', '\r', '\n', '\t']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 8);
    for ch in value.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#xD;"),
            '\n' => out.push_str("&#xA;"),
            '\t' => out.push_str("&#x9;"),
            other => out.push(other),
        }
    }
    Cow::Owned(out)
}

/// Escapes element text (`&`, `<`, `>`), as .NET's XmlWriter does.
pub fn escape_text(value: &str) -> Cow<'_, str> {
    quick_xml::escape::partial_escape(value)
}

/// Writes XML through quick-xml while leaving all layout (indentation, line ends) to the caller.
pub struct XmlOut {
    writer: Writer<Vec<u8>>,
}

impl Default for XmlOut {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlOut {
    pub fn new() -> Self {
        XmlOut { writer: Writer::new(Vec::new()) }
    }

    // Writing into a Vec cannot fail; the io::Result of quick-xml is only about the sink.
    fn emit(&mut self, event: Event<'_>) {
        self.writer.write_event(event).expect("writing XML into memory cannot fail");
    }

    /// Layout whitespace or pre-escaped markup, written as is.
    pub fn raw(&mut self, text: &str) {
        self.emit(Event::Text(BytesText::from_escaped(text)));
    }

    pub fn declaration(&mut self, encoding: &str) {
        self.emit(Event::Decl(BytesDecl::new("1.0", Some(encoding), None)));
    }

    pub fn comment(&mut self, text: &str) {
        self.emit(Event::Comment(BytesText::from_escaped(text)));
    }

    fn start_tag<'a>(name: &'a str, attributes: &[(&str, &str)]) -> BytesStart<'a> {
        let mut start = BytesStart::new(name);
        for (key, value) in attributes {
            start.push_attribute(Attribute {
                key: QName(key.as_bytes()),
                value: Cow::Owned(escape_attribute(value).into_owned().into_bytes()),
            });
        }
        start
    }

    pub fn start(&mut self, name: &str, attributes: &[(&str, &str)]) {
        let start = Self::start_tag(name, attributes);
        self.emit(Event::Start(start));
    }

    pub fn end(&mut self, name: &str) {
        self.emit(Event::End(BytesEnd::new(name)));
    }

    /// `<name a="v"/>`, as MSXML writes empty elements.
    pub fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) {
        let start = Self::start_tag(name, attributes);
        self.emit(Event::Empty(start));
    }

    /// `<name a="v" />`, as .NET's XmlWriter writes empty elements.
    pub fn empty_spaced(&mut self, name: &str, attributes: &[(&str, &str)]) {
        let start = Self::start_tag(name, attributes);
        let mut raw = String::from("<");
        raw.push_str(&String::from_utf8_lossy(&start));
        raw.push_str(" />");
        self.raw(&raw);
    }

    /// CDATA, split where the value itself contains `]]>`.
    pub fn cdata(&mut self, value: &str) {
        for part in BytesCData::escaped(value) {
            self.emit(Event::CData(part));
        }
    }

    pub fn text(&mut self, value: &str) {
        self.raw(&escape_text(value));
    }

    /// `<name><![CDATA[value]]></name>` or `<name/>` when there is no value.
    pub fn cdata_element(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(v) => {
                self.start(name, &[]);
                self.cdata(v);
                self.end(name);
            }
            None => self.empty(name, &[]),
        }
    }

    /// `<name>text</name>` with the text escaped.
    pub fn text_element(&mut self, name: &str, value: &str) {
        self.start(name, &[]);
        self.text(value);
        self.end(name);
    }

    /// A parsed element written back verbatim (used for content gpvault does not interpret).
    pub fn element(&mut self, element: &Element) {
        let attrs: Vec<(&str, &str)> = element.attributes.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if element.children.is_empty() {
            self.empty(&element.name, &attrs);
            return;
        }
        self.start(&element.name, &attrs);
        for child in &element.children {
            match child {
                Node::Element(e) => self.element(e),
                Node::Text(t) => self.text(t),
                Node::CData(t) => self.cdata(t),
                Node::Comment(t) => self.comment(t),
            }
        }
        self.end(&element.name);
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.writer.into_inner()
    }

    pub fn into_string(self) -> String {
        String::from_utf8(self.into_bytes()).expect("only str was written")
    }
}

/// The shape of a tree as lines (`depth name attr="v"... = text`), ignoring whitespace-only
/// text and the difference between text and CDATA. Subtrees of elements for which `skip`
/// returns true are listed by their own line only. Used to compare our output with GPMC's.
pub fn structure(root: &Element, skip: &dyn Fn(&Element) -> bool) -> Vec<String> {
    let mut lines = Vec::new();
    walk(root, 0, skip, &mut lines);
    lines
}

fn walk(element: &Element, depth: usize, skip: &dyn Fn(&Element) -> bool, out: &mut Vec<String>) {
    let mut line = format!("{depth} {}", element.name);
    for (k, v) in &element.attributes {
        line.push_str(&format!(" {k}={v:?}"));
    }
    let text = element.text();
    if !is_whitespace(&text) {
        line.push_str(&format!(" = {text:?}"));
    }
    out.push(line);
    if skip(element) {
        return;
    }
    for child in element.elements() {
        walk(child, depth + 1, skip, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cdata_entities_and_comments() {
        let doc = parse(
            "<?xml version=\"1.0\"?><!-- c --><a x=\"1 &amp; 2\"><b><![CDATA[v]]]]><![CDATA[>w]]></b>t&lt;&#x41;</a>",
            "f.xml",
        )
        .unwrap();
        assert!(doc.has_declaration);
        assert_eq!(doc.prolog_comments, vec![" c ".to_string()]);
        assert_eq!(doc.root.attr("x"), Some("1 & 2"));
        let b = doc.root.elements().next().unwrap();
        assert_eq!(b.text(), "v]]>w");
        assert_eq!(doc.root.text(), "t<A");
    }

    #[test]
    fn refuses_doctype_unknown_entities_and_garbage() {
        for bad in [
            "<!DOCTYPE a [<!ENTITY e \"x\">]><a>&e;</a>",
            "<a>&e;</a>",
            "<a><b></a>",
            "<a></a><b/>",
            "text<a/>",
            "<a>",
            "",
        ] {
            let err = parse(bad, "f.xml").unwrap_err();
            assert_eq!(err.file, "f.xml");
            assert!(matches!(err.problem, Problem::Malformed { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn refuses_absurd_nesting() {
        let deep = "<a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep, "f").is_err());
    }

    #[test]
    fn writer_escapes_and_splits_cdata() {
        let mut out = XmlOut::new();
        out.start("a", &[("p", "x & \"y\" <z>")]);
        out.cdata("1]]>2");
        out.text("<&>");
        out.empty_spaced("e", &[("k", "v")]);
        out.end("a");
        let text = out.into_string();
        assert_eq!(
            text,
            "<a p=\"x &amp; &quot;y&quot; &lt;z&gt;\"><![CDATA[1]]]]><![CDATA[>2]]>&lt;&amp;&gt;<e k=\"v\" /></a>"
        );
        let doc = parse(&text, "f").unwrap();
        assert_eq!(doc.root.attr("p"), Some("x & \"y\" <z>"));
        assert_eq!(doc.root.text(), "1]]>2<&>");
    }

    #[test]
    fn verbatim_element_round_trip() {
        let src = "<r a=\"1\"><x:b c=\"&amp;\">t<![CDATA[d]]><!--k--><e/></x:b></r>";
        let doc = parse(src, "f").unwrap();
        let mut out = XmlOut::new();
        out.element(&doc.root);
        assert_eq!(out.into_string(), src);
    }
}
