//! engines.toml for a test, laid out as a person writes one: `trt_version`, the tables, then
//! each `[[model]]` (name, family, onnx, version, precisions, archs, batch). Line numbers in
//! trtctl's errors count from this layout.

use std::fmt::Write;

pub struct Manifest {
    trt_version: String,
    tables: String,
    models: Vec<Model>,
}

impl Manifest {
    /// `trt_version`, no tables and no model yet.
    pub fn new(trt_version: &str) -> Manifest {
        Manifest {
            trt_version: trt_version.to_string(),
            tables: String::new(),
            models: Vec::new(),
        }
    }

    /// A `[remote]` table of `url` alone; [`Manifest::raw`] right after it adds keys to it.
    pub fn remote(self, url: &str) -> Manifest {
        self.raw(&format!("[remote]\nurl = \"{url}\"\n"))
    }

    /// A `[defaults]` table: the `precisions` and `archs` of each model that sets none.
    pub fn defaults(self, precisions: &[&str], archs: &[&str]) -> Manifest {
        self.raw(&format!(
            "[defaults]\nprecisions = {}\narchs = {}\n",
            toml_list(&owned(precisions)),
            toml_list(&owned(archs))
        ))
    }

    /// TOML written as given, before the models: a table, or keys of the table just added.
    pub fn raw(mut self, toml: &str) -> Manifest {
        self.tables.push_str(toml);
        self
    }

    pub fn model(mut self, model: Model) -> Manifest {
        self.models.push(model);
        self
    }

    /// The models whose ONNX file is the usual `models/{name}.onnx`.
    pub fn usual_onnx_names(&self) -> impl Iterator<Item = &str> {
        self.models
            .iter()
            .filter(|model| model.onnx == usual_onnx(&model.name))
            .map(|model| model.name.as_str())
    }

    pub fn text(&self) -> String {
        let mut text = format!("trt_version = \"{}\"\n{}", self.trt_version, self.tables);
        for model in &self.models {
            model.write_to(&mut text);
        }
        text
    }
}

pub struct Model {
    name: String,
    family: Option<String>,
    onnx: String,
    version: String,
    precisions: Vec<String>,
    archs: Vec<String>,
    batch: Option<[u32; 3]>,
    lines: String,
}

impl Model {
    /// `name` from `models/{name}.onnx` at version `v1`, with no family, precisions or archs.
    pub fn named(name: &str) -> Model {
        Model {
            name: name.to_string(),
            family: None,
            onnx: usual_onnx(name),
            version: "v1".to_string(),
            precisions: Vec::new(),
            archs: Vec::new(),
            batch: None,
            lines: String::new(),
        }
    }

    /// arcface_r100 of family `arcface` at version `v1.0`, at `precisions` for `archs`.
    pub fn arcface(precisions: &[&str], archs: &[&str]) -> Model {
        Model {
            family: Some("arcface".to_string()),
            version: "v1.0".to_string(),
            precisions: owned(precisions),
            archs: owned(archs),
            ..Model::named("arcface_r100")
        }
    }

    pub fn onnx(self, onnx: &str) -> Model {
        Model {
            onnx: onnx.to_string(),
            ..self
        }
    }

    pub fn version(self, version: &str) -> Model {
        Model {
            version: version.to_string(),
            ..self
        }
    }

    pub fn precisions(self, precisions: &[&str]) -> Model {
        Model {
            precisions: owned(precisions),
            ..self
        }
    }

    pub fn archs(self, archs: &[&str]) -> Model {
        Model {
            archs: owned(archs),
            ..self
        }
    }

    /// `batch = { min, opt, max }`.
    pub fn batch(self, min: u32, opt: u32, max: u32) -> Model {
        Model {
            batch: Some([min, opt, max]),
            ..self
        }
    }

    /// A further `key = value` line of the model, written as given after the others.
    pub fn line(mut self, line: &str) -> Model {
        self.lines.push_str(line);
        self.lines.push('\n');
        self
    }

    fn write_to(&self, text: &mut String) {
        let _ = write!(text, "[[model]]\nname = \"{}\"\n", self.name);
        if let Some(family) = &self.family {
            let _ = writeln!(text, "family = \"{family}\"");
        }
        let _ = write!(
            text,
            "onnx = \"{}\"\nversion = \"{}\"\n",
            self.onnx, self.version
        );
        if !self.precisions.is_empty() {
            let _ = writeln!(text, "precisions = {}", toml_list(&self.precisions));
        }
        if !self.archs.is_empty() {
            let _ = writeln!(text, "archs = {}", toml_list(&self.archs));
        }
        if let Some([min, opt, max]) = self.batch {
            let _ = writeln!(text, "batch = {{ min = {min}, opt = {opt}, max = {max} }}");
        }
        text.push_str(&self.lines);
    }
}

fn usual_onnx(name: &str) -> String {
    format!("models/{name}.onnx")
}

fn owned(items: &[&str]) -> Vec<String> {
    items.iter().map(|item| item.to_string()).collect()
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("\"{item}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

#[test]
fn lays_out_a_manifest_as_the_hand_written_ones_were() {
    let text = Manifest::new("10.3.0")
        .remote("file://remote")
        .raw("part_size_mib = 5\n")
        .defaults(&["int8"], &["sm_75", "sm_80"])
        .model(Model::arcface(&["fp16", "fp32"], &["sm_86"]).batch(1, 8, 16))
        .model(
            Model::named("x")
                .version("v2")
                .archs(&["sm_89"])
                .line("build = { version_compatible = true }"),
        )
        .text();
    assert_eq!(
        text,
        "trt_version = \"10.3.0\"\n[remote]\nurl = \"file://remote\"\npart_size_mib = 5\n[defaults]\nprecisions = [\"int8\"]\narchs = [\"sm_75\", \"sm_80\"]\n[[model]]\nname = \"arcface_r100\"\nfamily = \"arcface\"\nonnx = \"models/arcface_r100.onnx\"\nversion = \"v1.0\"\nprecisions = [\"fp16\", \"fp32\"]\narchs = [\"sm_86\"]\nbatch = { min = 1, opt = 8, max = 16 }\n[[model]]\nname = \"x\"\nonnx = \"models/x.onnx\"\nversion = \"v2\"\narchs = [\"sm_89\"]\nbuild = { version_compatible = true }\n"
    );
}
