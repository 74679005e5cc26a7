pub mod faulty;
pub mod project;
pub mod s3;
