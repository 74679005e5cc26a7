pub mod backend;
pub mod deploy;
pub mod faulty;
pub mod project;
pub mod responder;
pub mod s3;
