//! Chat messages rendered with the model's own chat template (`tokenizer.chat_template`, a
//! Jinja template as Hugging Face writes them), through minijinja with Python's string
//! methods and `raise_exception`, blocks trimmed as transformers and llama.cpp's servers
//! render them. A GGUF without a template gets ChatML (llama.cpp's default).

use minijinja::{context, Environment, ErrorKind, Value};

use crate::error::{Error, Result};
use crate::models::llm::ChatMessage;

const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// A compiled chat template and the special tokens it may name.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate").finish_non_exhaustive()
    }
}

impl ChatTemplate {
    /// Compile `source` (`None`: ChatML).
    pub fn new(source: Option<&str>, bos: &str, eos: &str) -> Result<ChatTemplate> {
        let mut env = Environment::new();
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
            .map_err(|e| Error::Internal(format!("template syntax: {e}")))?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> std::result::Result<Value, minijinja::Error> {
            Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
        });
        env.add_function("strftime_now", |format: String| -> String {
            let now = time::OffsetDateTime::now_utc();
            // The formats templates use (`%d %b %Y`, `%Y-%m-%d`).
            format
                .replace("%Y", &now.year().to_string())
                .replace("%m", &format!("{:02}", u8::from(now.month())))
                .replace("%d", &format!("{:02}", now.day()))
                .replace("%b", &now.month().to_string()[..3])
                .replace("%B", &now.month().to_string())
        });
        env.add_template_owned("chat", source.unwrap_or(CHATML).to_owned())
            .map_err(|e| Error::Model(format!("the model's chat template does not compile: {e}")))?;
        Ok(ChatTemplate { env, bos: bos.to_owned(), eos: eos.to_owned() })
    }

    /// The prompt for `messages`, ending with the assistant's turn opened.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String> {
        let t = self.env.get_template("chat").map_err(|e| Error::Internal(e.to_string()))?;
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| context! { role => m.role.as_str(), content => m.content.as_str() })
            .collect();
        t.render(context! {
            messages => messages,
            add_generation_prompt => true,
            bos_token => self.bos.as_str(),
            eos_token => self.eos.as_str(),
        })
        .map_err(|e| match e.kind() {
            // The template refused the conversation (e.g. roles out of order).
            ErrorKind::InvalidOperation => {
                Error::InvalidInput(format!("the model's chat template refused the messages: {e}"))
            }
            _ => Error::Model(format!("rendering the chat template failed: {e}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn renders_smollm2s_template_as_jinja2_does() {
        let t = ChatTemplate::new(Some(SMOLLM2), "<|im_start|>", "<|im_end|>").unwrap();
        let out = t.render(&[ChatMessage::user("What is 2+2?")]).unwrap();
        assert_eq!(
            out,
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n"
        );
        let out = t.render(&[ChatMessage::system("Be brief."), ChatMessage::user("Hi")]).unwrap();
        assert!(out.starts_with("<|im_start|>system\nBe brief.<|im_end|>\n"), "{out}");
    }

    #[test]
    fn raise_exception_is_invalid_input_and_chatml_is_the_default() {
        let t = ChatTemplate::new(Some("{{ raise_exception('roles must alternate') }}"), "", "").unwrap();
        let e = t.render(&[ChatMessage::user("x")]).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidInput);
        assert!(e.to_string().contains("roles must alternate"), "{e}");
        let t = ChatTemplate::new(None, "", "").unwrap();
        assert_eq!(
            t.render(&[ChatMessage::user("Hi")]).unwrap(),
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        let t = ChatTemplate::new(Some("{{ messages[0].content.strip() }}"), "", "").unwrap();
        assert_eq!(t.render(&[ChatMessage::user("  padded  ")]).unwrap(), "padded");
    }
}
