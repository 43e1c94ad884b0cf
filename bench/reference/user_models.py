"""Networks written by hand the way users write them (bench/importer.py imports each): a minGPT-style GPT, a
U-Net, a VAE, an LSTM classifier, a temporal convolution network, nn.Transformer, attention by einsum, a 3-D
convolution, group/instance norms, a GRU seq2seq, a text CNN, stacked heads, a char-RNN with an initial
state, a transformer decoder over a memory, a reflect-padded 1-D residual block, Hugging Face-style BERT and
GPT-2 blocks, a DCGAN generator, PointNet, squeeze-and-excitation, MLP-Mixer, a graph convolution, a
diffusion U-Net with timestep embeddings, DeiT and a word language model; and, in torch's default layout for
recurrent and attention layers (sequence first), the word language model and its transformer as PyTorch's
examples write them and a CLIP-style text tower that permutes the batch second around its blocks; a LLaMA-style
decoder (RMSNorm, rotary positions, grouped-query attention by Hugging Face's repeat_kv, SwiGLU); Show, Attend and
Tell's decoder (an LSTMCell looped over time). Each builder
returns (model, sample input), or (model, sample input, 1) for a sequence-first input. Written for this
project (no third-party code)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

class CausalSelfAttention(nn.Module):
    def __init__(self, d=128, h=4, T=64):
        super().__init__(); self.c_attn = nn.Linear(d, 3*d); self.c_proj = nn.Linear(d, d); self.h = h; self.d = d
        self.attn_drop = nn.Dropout(0.1); self.resid_drop = nn.Dropout(0.1)
        self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T))
    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.d, dim=2)
        k = k.view(B, T, self.h, C // self.h).transpose(1, 2)
        q = q.view(B, T, self.h, C // self.h).transpose(1, 2)
        v = v.view(B, T, self.h, C // self.h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1); att = self.attn_drop(att)
        y = att @ v
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_drop(self.c_proj(y))

class Block(nn.Module):
    def __init__(self, d=128):
        super().__init__(); self.ln_1 = nn.LayerNorm(d); self.attn = CausalSelfAttention(d); self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4*d), nn.GELU(), nn.Linear(4*d, d), nn.Dropout(0.1))
    def forward(self, x):
        x = x + self.attn(self.ln_1(x)); return x + self.mlp(self.ln_2(x))

class MiniGPT(nn.Module):
    def __init__(self, V=1000, d=128, T=64, L=4):
        super().__init__(); self.wte = nn.Embedding(V, d); self.wpe = nn.Embedding(T, d)
        self.blocks = nn.ModuleList([Block(d) for _ in range(L)]); self.ln_f = nn.LayerNorm(d); self.head = nn.Linear(d, V, bias=False)
    def forward(self, idx):
        b, t = idx.size(); pos = torch.arange(0, t, dtype=torch.long, device=idx.device).unsqueeze(0)
        x = self.wte(idx) + self.wpe(pos)
        for blk in self.blocks: x = blk(x)
        return self.head(self.ln_f(x))

def minigpt(): return MiniGPT(), torch.randint(0, 1000, (8, 64))

class DoubleConv(nn.Module):
    def __init__(self, i, o):
        super().__init__(); self.net = nn.Sequential(nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                                                  nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))
    def forward(self, x): return self.net(x)
class UNet(nn.Module):
    def __init__(self):
        super().__init__(); self.d1 = DoubleConv(3, 32); self.d2 = DoubleConv(32, 64); self.d3 = DoubleConv(64, 128)
        self.up2 = nn.ConvTranspose2d(128, 64, 2, stride=2); self.u2 = DoubleConv(128, 64)
        self.up1 = nn.ConvTranspose2d(64, 32, 2, stride=2); self.u1 = DoubleConv(64, 32); self.out = nn.Conv2d(32, 2, 1)
    def forward(self, x):
        x1 = self.d1(x); x2 = self.d2(F.max_pool2d(x1, 2)); x3 = self.d3(F.max_pool2d(x2, 2))
        y = self.u2(torch.cat([self.up2(x3), x2], dim=1)); y = self.u1(torch.cat([self.up1(y), x1], dim=1)); return self.out(y)
def unet(): return UNet(), torch.randn(4, 3, 128, 128)

class VAE(nn.Module):
    def __init__(self):
        super().__init__(); self.enc = nn.Sequential(nn.Flatten(), nn.Linear(784, 400), nn.ReLU()); self.mu = nn.Linear(400, 20); self.lv = nn.Linear(400, 20)
        self.dec = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 784), nn.Sigmoid())
    def forward(self, x):
        h = self.enc(x); mu, lv = self.mu(h), self.lv(h); z = mu + torch.randn_like(mu) * torch.exp(0.5 * lv)
        return self.dec(z).view(-1, 1, 28, 28), mu, lv
def vae(): return VAE(), torch.randn(64, 1, 28, 28)

class TextLSTM(nn.Module):
    def __init__(self):
        super().__init__(); self.emb = nn.Embedding(5000, 128); self.lstm = nn.LSTM(128, 256, num_layers=2, batch_first=True, bidirectional=True); self.fc = nn.Linear(512, 4)
    def forward(self, x):
        out, (h, c) = self.lstm(self.emb(x)); return self.fc(out[:, -1, :])
def textlstm(): return TextLSTM(), torch.randint(0, 5000, (32, 100))

class TCN(nn.Module):
    def __init__(self):
        super().__init__(); self.layers = nn.ModuleList([nn.Conv1d(64 if i else 1, 64, 3, dilation=2**i, padding=2**i) for i in range(6)]); self.fc = nn.Linear(64, 10)
    def forward(self, x):
        for l in self.layers: x = F.relu(l(x))
        return self.fc(x.mean(dim=2))
def tcn(): return TCN(), torch.randn(16, 1, 16000)

def seq2seq(): 
    m = nn.Transformer(d_model=128, nhead=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=256, batch_first=True)
    return m, (torch.randn(8, 32, 128), torch.randn(8, 20, 128))

class EinsumAttn(nn.Module):
    def __init__(self, d=64):
        super().__init__(); self.qkv = nn.Linear(d, 3*d); self.o = nn.Linear(d, d)
    def forward(self, x):
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        a = torch.einsum("bid,bjd->bij", q, k).softmax(-1)
        return self.o(torch.einsum("bij,bjd->bid", a, v))
def einsum_attn(): return EinsumAttn(), torch.randn(8, 50, 64)

class Clip3d(nn.Module):
    def __init__(self):
        super().__init__(); self.conv = nn.Conv3d(1, 8, 3, padding=1); self.fc = nn.Linear(8, 2)
    def forward(self, x): return self.fc(F.adaptive_avg_pool3d(F.relu(self.conv(x)), 1).flatten(1))
def conv3d(): return Clip3d(), torch.randn(2, 1, 16, 32, 32)

class GroupNormNet(nn.Module):
    def __init__(self):
        super().__init__(); self.c = nn.Conv2d(3, 32, 3, padding=1); self.gn = nn.GroupNorm(8, 32); self.i = nn.InstanceNorm2d(32); self.fc = nn.Linear(32, 10)
    def forward(self, x): return self.fc(torch.flatten(F.adaptive_avg_pool2d(F.silu(self.i(self.gn(self.c(x)))), 1), 1))
def groupnorm(): return GroupNormNet(), torch.randn(8, 3, 64, 64)

class Seq2SeqGRU(nn.Module):
    def __init__(self):
        super().__init__(); self.emb = nn.Embedding(1000, 64); self.enc = nn.GRU(64, 128, batch_first=True); self.dec = nn.GRU(64, 128, batch_first=True); self.out = nn.Linear(128, 1000)
    def forward(self, src, tgt):
        _, h = self.enc(self.emb(src)); y, _ = self.dec(self.emb(tgt), h); return self.out(y)
def seq2seq_gru(): return Seq2SeqGRU(), (torch.randint(0, 1000, (8, 20)), torch.randint(0, 1000, (8, 15)))

class TextCNN(nn.Module):
    def __init__(self):
        super().__init__(); self.emb = nn.Embedding(5000, 100); self.convs = nn.ModuleList([nn.Conv1d(100, 64, k) for k in (3, 4, 5)]); self.fc = nn.Linear(192, 2)
    def forward(self, x):
        e = self.emb(x).transpose(1, 2)
        pooled = [torch.max(F.relu(c(e)), dim=2)[0] for c in self.convs]
        return self.fc(torch.cat(pooled, dim=1))
def textcnn(): return TextCNN(), torch.randint(0, 5000, (16, 50))

class Stacker(nn.Module):
    def __init__(self):
        super().__init__(); self.a = nn.Linear(32, 32); self.b = nn.Linear(32, 32)
    def forward(self, x):
        h = torch.stack([self.a(x), self.b(x)], dim=1)
        return F.normalize(h.mean(dim=1), dim=-1)
def stacker(): return Stacker(), torch.randn(8, 32)

class CharRNN(nn.Module):
    def __init__(self):
        super().__init__(); self.emb = nn.Embedding(100, 32); self.lstm = nn.LSTM(32, 64, 2, batch_first=True); self.fc = nn.Linear(64, 100)
    def forward(self, x):
        h0 = torch.zeros(2, x.size(0), 64); c0 = torch.zeros(2, x.size(0), 64)
        out, _ = self.lstm(self.emb(x), (h0, c0)); return self.fc(out)
def charrnn(): return CharRNN(), torch.randint(0, 100, (8, 40))

class DecoderOnly(nn.Module):
    def __init__(self):
        super().__init__(); self.emb = nn.Embedding(500, 64); l = nn.TransformerDecoderLayer(64, 4, 128, batch_first=True); self.dec = nn.TransformerDecoder(l, 2); self.fc = nn.Linear(64, 500)
    def forward(self, x, mem):
        return self.fc(self.dec(self.emb(x), mem))
def decoder_only(): return DecoderOnly(), (torch.randint(0, 500, (4, 16)), torch.randn(4, 10, 64))

class ResBlock1d(nn.Module):
    def __init__(self):
        super().__init__(); self.c = nn.Conv1d(16, 16, 3, padding=1, padding_mode="reflect"); self.n = nn.BatchNorm1d(16)
    def forward(self, x): return x + F.leaky_relu(self.n(self.c(x)), 0.2)
def resblock1d(): return ResBlock1d(), torch.randn(4, 16, 100)

class HFSelfAttention(nn.Module):
    def __init__(self, d=64, h=4):
        super().__init__(); self.h = h; self.dh = d // h; self.query = nn.Linear(d, d); self.key = nn.Linear(d, d); self.value = nn.Linear(d, d); self.dropout = nn.Dropout(0.1)
    def transpose_for_scores(self, x):
        new_x_shape = x.size()[:-1] + (self.h, self.dh)
        x = x.view(*new_x_shape)
        return x.permute(0, 2, 1, 3)
    def forward(self, hidden, mask):
        q = self.transpose_for_scores(self.query(hidden)); k = self.transpose_for_scores(self.key(hidden)); v = self.transpose_for_scores(self.value(hidden))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh)
        scores = scores + mask
        probs = self.dropout(nn.functional.softmax(scores, dim=-1))
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(*(ctx.size()[:-2] + (self.h * self.dh,)))

class HFBert(nn.Module):
    def __init__(self):
        super().__init__(); self.emb = nn.Embedding(1000, 64); self.pos = nn.Embedding(128, 64); self.tt = nn.Embedding(2, 64); self.ln = nn.LayerNorm(64)
        self.layers = nn.ModuleList([HFSelfAttention() for _ in range(2)]); self.inter = nn.Linear(64, 256); self.out = nn.Linear(256, 64); self.pool = nn.Linear(64, 64)
        self.register_buffer("position_ids", torch.arange(128).expand((1, -1)))
    def forward(self, input_ids, attention_mask):
        seq = input_ids.size(1)
        pos = self.position_ids[:, :seq]
        tt = torch.zeros(input_ids.size(), dtype=torch.long, device=input_ids.device)
        x = self.ln(self.emb(input_ids) + self.pos(pos) + self.tt(tt))
        ext = attention_mask[:, None, None, :].to(dtype=x.dtype)
        ext = (1.0 - ext) * torch.finfo(x.dtype).min
        for l in self.layers:
            x = x + l(x, ext)
            h = self.inter(x); h = 0.5 * h * (1.0 + torch.erf(h / math.sqrt(2.0)))
            x = x + self.out(h)
        return torch.tanh(self.pool(x[:, 0]))
def hfbert(): return HFBert(), (torch.randint(0, 1000, (4, 32)), torch.ones(4, 32, dtype=torch.long))

class DCGAN_G(nn.Module):
    def __init__(self, nz=100, ngf=64):
        super().__init__()
        self.main = nn.Sequential(nn.ConvTranspose2d(nz, ngf*8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf*8), nn.ReLU(True),
            nn.ConvTranspose2d(ngf*8, ngf*4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf*4), nn.ReLU(True),
            nn.ConvTranspose2d(ngf*4, ngf*2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf*2), nn.ReLU(True),
            nn.ConvTranspose2d(ngf*2, 3, 4, 2, 1, bias=False), nn.Tanh())
    def forward(self, z): return self.main(z)
def dcgan(): return DCGAN_G(), torch.randn(8, 100, 1, 1)

class PointNet(nn.Module):
    def __init__(self):
        super().__init__(); self.c1 = nn.Conv1d(3, 64, 1); self.c2 = nn.Conv1d(64, 128, 1); self.c3 = nn.Conv1d(128, 1024, 1); self.fc = nn.Linear(1024, 40)
        self.bn = nn.BatchNorm1d(1024)
    def forward(self, x):
        x = F.relu(self.c1(x)); x = F.relu(self.c2(x)); x = self.bn(self.c3(x))
        x = torch.max(x, 2, keepdim=True)[0].view(-1, 1024)
        return F.log_softmax(self.fc(x), dim=1)
def pointnet(): return PointNet(), torch.randn(8, 3, 1024)

class SEBlock(nn.Module):
    def __init__(self, c=64, r=16):
        super().__init__(); self.conv = nn.Conv2d(3, c, 3, padding=1); self.fc1 = nn.Linear(c, c // r); self.fc2 = nn.Linear(c // r, c)
    def forward(self, x):
        x = self.conv(x); b, c, _, _ = x.size()
        y = F.adaptive_avg_pool2d(x, 1).view(b, c)
        y = torch.sigmoid(self.fc2(F.relu(self.fc1(y)))).view(b, c, 1, 1)
        return x * y.expand_as(x)
def seblock(): return SEBlock(), torch.randn(4, 3, 32, 32)

class MLPMixer(nn.Module):
    def __init__(self, p=16, d=128, n=196):
        super().__init__(); self.patch = nn.Conv2d(3, d, p, p); self.ln1 = nn.LayerNorm(d); self.tok = nn.Sequential(nn.Linear(n, 256), nn.GELU(), nn.Linear(256, n))
        self.ln2 = nn.LayerNorm(d); self.ch = nn.Sequential(nn.Linear(d, 512), nn.GELU(), nn.Linear(512, d)); self.head = nn.Linear(d, 1000)
    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = x + self.tok(self.ln1(x).transpose(1, 2)).transpose(1, 2)
        x = x + self.ch(self.ln2(x))
        return self.head(x.mean(dim=1))
def mixer(): return MLPMixer(), torch.randn(2, 3, 224, 224)

class GCN(nn.Module):
    def __init__(self):
        super().__init__(); self.w1 = nn.Linear(16, 32); self.w2 = nn.Linear(32, 7)
        self.register_buffer("adj", torch.rand(50, 50))
    def forward(self, x):   # x: (B, nodes, feat)
        x = F.relu(self.adj @ self.w1(x)); return self.w2(torch.matmul(self.adj, x))
def gcn(): return GCN(), torch.randn(4, 50, 16)

def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None].float() * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)

class ResBlockT(nn.Module):
    def __init__(self, c=32, tdim=64):
        super().__init__(); self.n1 = nn.GroupNorm(8, c); self.c1 = nn.Conv2d(c, c, 3, padding=1); self.t = nn.Linear(tdim, c); self.n2 = nn.GroupNorm(8, c); self.c2 = nn.Conv2d(c, c, 3, padding=1)
    def forward(self, x, temb):
        h = self.c1(F.silu(self.n1(x)))
        h = h + self.t(F.silu(temb))[:, :, None, None]
        h = self.c2(F.silu(self.n2(h)))
        return x + h

class TinyUNet(nn.Module):
    def __init__(self):
        super().__init__(); self.inc = nn.Conv2d(3, 32, 3, padding=1); self.temb = nn.Sequential(nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 64))
        self.r1 = ResBlockT(); self.down = nn.Conv2d(32, 32, 3, stride=2, padding=1); self.r2 = ResBlockT(); self.up = nn.Upsample(scale_factor=2, mode="nearest"); self.r3 = ResBlockT(); self.out = nn.Conv2d(32, 3, 3, padding=1)
    def forward(self, x, t):
        temb = self.temb(timestep_embedding(t, 64))
        h1 = self.r1(self.inc(x), temb)
        h2 = self.r2(self.down(h1), temb)
        h = self.r3(self.up(h2) + h1, temb)
        return self.out(h)
def tinyunet(): return TinyUNet(), (torch.randn(4, 3, 32, 32), torch.randint(0, 1000, (4,)))

class DeiT(nn.Module):
    def __init__(self, d=64):
        super().__init__(); self.patch = nn.Conv2d(3, d, 16, 16); self.cls = nn.Parameter(torch.zeros(1, 1, d)); self.dist = nn.Parameter(torch.zeros(1, 1, d)); self.pos = nn.Parameter(torch.zeros(1, 198, d))
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, 4, 128, batch_first=True, norm_first=True), 2); self.head = nn.Linear(d, 10); self.head_dist = nn.Linear(d, 10)
    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        B = x.shape[0]
        x = torch.cat((self.cls.expand(B, -1, -1), self.dist.expand(B, -1, -1), x), dim=1) + self.pos
        x = self.enc(x)
        return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2
def deit(): return DeiT(), torch.randn(2, 3, 224, 224)

class Conv1D(nn.Module):   # Hugging Face's GPT-2 "Conv1D": a linear layer with a transposed weight, by addmm
    def __init__(self, nf, nx):
        super().__init__(); self.nf = nf; self.weight = nn.Parameter(torch.randn(nx, nf) * 0.02); self.bias = nn.Parameter(torch.zeros(nf))
    def forward(self, x):
        size_out = x.size()[:-1] + (self.nf,)
        x = torch.addmm(self.bias, x.view(-1, x.size(-1)), self.weight)
        return x.view(size_out)

class HFGPT2Block(nn.Module):
    def __init__(self, d=64, h=4):
        super().__init__(); self.ln_1 = nn.LayerNorm(d); self.c_attn = Conv1D(3 * d, d); self.c_proj = Conv1D(d, d); self.ln_2 = nn.LayerNorm(d)
        self.c_fc = Conv1D(4 * d, d); self.c_proj2 = Conv1D(d, 4 * d); self.h = h; self.d = d
    def forward(self, x):
        q, k, v = self.c_attn(self.ln_1(x)).split(self.d, dim=2)
        sh = lambda t: t.view(t.size()[:-1] + (self.h, self.d // self.h)).permute(0, 2, 1, 3)
        q, k, v = sh(q), sh(k), sh(v)
        a = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.d // self.h)
        n = a.size(-1); mask = torch.tril(torch.ones(n, n, dtype=torch.bool))
        a = torch.where(mask, a, torch.tensor(torch.finfo(a.dtype).min, dtype=a.dtype))
        y = torch.matmul(F.softmax(a, -1), v).permute(0, 2, 1, 3).contiguous()
        y = y.view(y.size()[:-2] + (self.d,))
        x = x + self.c_proj(y)
        return x + self.c_proj2(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))
def hfgpt2(): return HFGPT2Block(), torch.randn(4, 16, 64)

class WordLM(nn.Module):   # batch-first variant of PyTorch's word_language_model: decoder on merged rows
    def __init__(self):
        super().__init__(); self.enc = nn.Embedding(1000, 64); self.rnn = nn.LSTM(64, 128, 2, batch_first=True); self.dec = nn.Linear(128, 1000)
    def forward(self, x):
        out, _ = self.rnn(self.enc(x))
        decoded = self.dec(out.reshape(-1, out.size(2)))
        return F.log_softmax(decoded, dim=1).view(x.size(0), x.size(1), -1)
def wordlm(): return WordLM(), torch.randint(0, 1000, (8, 35))


class WordLMSeqFirst(nn.Module):   # PyTorch's word_language_model as written there: ids (T, N), time-major LSTM
    def __init__(self):
        super().__init__(); self.drop = nn.Dropout(0.2); self.enc = nn.Embedding(1000, 64); self.rnn = nn.LSTM(64, 128, 2, dropout=0.2); self.dec = nn.Linear(128, 1000)
    def forward(self, x):
        out, _ = self.rnn(self.drop(self.enc(x)))
        return F.log_softmax(self.dec(self.drop(out)).view(-1, 1000), dim=1)
def wordlm_seqfirst(): return WordLMSeqFirst(), torch.randint(0, 1000, (35, 8)), 1

class PosEncoding(nn.Module):   # a sinusoidal table kept as a (max_len, 1, d) buffer, sliced to the sequence
    def __init__(self, d, max_len=512):
        super().__init__(); pos = torch.arange(max_len).float().unsqueeze(1); div = torch.exp(torch.arange(0, d, 2).float() * (-math.log(10000.0) / d))
        pe = torch.zeros(max_len, d); pe[:, 0::2] = torch.sin(pos * div); pe[:, 1::2] = torch.cos(pos * div); self.register_buffer("pe", pe.unsqueeze(1)); self.drop = nn.Dropout(0.1)
    def forward(self, x): return self.drop(x + self.pe[:x.size(0)])

class TransformerLMSeqFirst(nn.Module):   # the word_language_model's TransformerModel: time-major, causal mask
    def __init__(self, d=128):
        super().__init__(); self.d = d; self.enc = nn.Embedding(1000, d); self.pos = PosEncoding(d)
        self.tf = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, 4, 256, 0.1), 2, enable_nested_tensor=False); self.dec = nn.Linear(d, 1000)
    def forward(self, src):
        mask = nn.Transformer.generate_square_subsequent_mask(src.size(0))
        return F.log_softmax(self.dec(self.tf(self.pos(self.enc(src) * math.sqrt(self.d)), mask)), dim=-1)
def transformer_lm_seqfirst(): return TransformerLMSeqFirst(), torch.randint(0, 1000, (35, 8)), 1

class CLIPBlock(nn.Module):
    def __init__(self, d):
        super().__init__(); self.attn = nn.MultiheadAttention(d, 8); self.ln_1 = nn.LayerNorm(d); self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
    def forward(self, x, mask):
        h = self.ln_1(x); x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))

class CLIPText(nn.Module):   # tokens batch-first, permuted to (L, N, D) for time-major attention, and back
    def __init__(self, d=128, ctx=77):
        super().__init__(); self.tok = nn.Embedding(1000, d); self.pos = nn.Parameter(torch.randn(ctx, d) * 0.01)
        self.blocks = nn.ModuleList([CLIPBlock(d) for _ in range(3)]); self.ln = nn.LayerNorm(d); self.proj = nn.Parameter(torch.randn(d, 64) * 0.02)
        self.register_buffer("mask", torch.full((ctx, ctx), float("-inf")).triu(1))
    def forward(self, text):
        x = (self.tok(text) + self.pos).permute(1, 0, 2)
        for b in self.blocks:
            x = b(x, self.mask)
        x = self.ln(x.permute(1, 0, 2))
        return x[:, -1, :] @ self.proj
def clip_text(): return CLIPText(), torch.randint(0, 1000, (8, 77))


class LlamaRMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__(); self.eps = eps; self.weight = nn.Parameter(torch.ones(d))
    def forward(self, x): return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))

def rotate_half(x):
    return torch.cat((-x[..., x.shape[-1] // 2:], x[..., :x.shape[-1] // 2]), dim=-1)

class LlamaAttention(nn.Module):   # grouped-query attention (8 query heads, 2 key/value heads), rotary positions
    def __init__(self, d=256, h=8, kv=2):
        super().__init__(); self.h, self.kv, self.hd = h, kv, d // h
        self.q_proj = nn.Linear(d, d, bias=False); self.k_proj = nn.Linear(d, kv * self.hd, bias=False); self.v_proj = nn.Linear(d, kv * self.hd, bias=False); self.o_proj = nn.Linear(d, d, bias=False)
        self.register_buffer("inv_freq", 1.0 / (10000 ** (torch.arange(0, self.hd, 2).float() / self.hd)), persistent=False)
    def repeat_kv(self, x):
        b, h, s, d = x.shape; n = self.h // self.kv
        return x[:, :, None, :, :].expand(b, h, n, s, d).reshape(b, h * n, s, d)
    def forward(self, x):
        B, T, C = x.shape
        q = self.q_proj(x).view(B, T, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(B, T, self.kv, self.hd).transpose(1, 2); v = self.v_proj(x).view(B, T, self.kv, self.hd).transpose(1, 2)
        freqs = torch.outer(torch.arange(T, dtype=torch.float32), self.inv_freq); emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos()[None, None], emb.sin()[None, None]
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        y = F.scaled_dot_product_attention(q, self.repeat_kv(k), self.repeat_kv(v), is_causal=True)
        return self.o_proj(y.transpose(1, 2).contiguous().view(B, T, C))

class LlamaLayer(nn.Module):
    def __init__(self, d=256, hid=688):
        super().__init__(); self.input_layernorm = LlamaRMSNorm(d); self.self_attn = LlamaAttention(d); self.post_attention_layernorm = LlamaRMSNorm(d)
        self.gate_proj = nn.Linear(d, hid, bias=False); self.up_proj = nn.Linear(d, hid, bias=False); self.down_proj = nn.Linear(hid, d, bias=False)
    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x)); h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))

class Llama(nn.Module):   # a LLaMA-style decoder as Hugging Face writes it: RMSNorm, RoPE, GQA by repeat_kv, SwiGLU
    def __init__(self):
        super().__init__(); self.embed_tokens = nn.Embedding(1000, 256); self.layers = nn.ModuleList([LlamaLayer() for _ in range(4)]); self.norm = LlamaRMSNorm(256); self.lm_head = nn.Linear(256, 1000, bias=False)
    def forward(self, ids):
        x = self.embed_tokens(ids)
        for layer in self.layers: x = layer(x)
        return self.lm_head(self.norm(x))
def llama(): return Llama(), torch.randint(0, 1000, (4, 128))


class AttendDecoder(nn.Module):   # Show, Attend and Tell's decoder: an LSTMCell looped over time, soft attention
    def __init__(self, enc=256, emb=64, hid=128, vocab=1000):
        super().__init__(); self.embedding = nn.Embedding(vocab, emb); self.init_h = nn.Linear(enc, hid); self.init_c = nn.Linear(enc, hid)
        self.enc_att = nn.Linear(enc, 64); self.dec_att = nn.Linear(hid, 64); self.full_att = nn.Linear(64, 1); self.f_beta = nn.Linear(hid, enc)
        self.decode_step = nn.LSTMCell(emb + enc, hid); self.fc = nn.Linear(hid, vocab)
    def forward(self, feats, caps):   # feats (N, pixels, enc), caps (N, T)
        mean = feats.mean(dim=1); h, c = self.init_h(mean), self.init_c(mean); emb = self.embedding(caps); outs = []
        for t in range(caps.size(1)):
            alpha = F.softmax(self.full_att(F.relu(self.enc_att(feats) + self.dec_att(h).unsqueeze(1))).squeeze(2), dim=1)
            awe = torch.sigmoid(self.f_beta(h)) * (feats * alpha.unsqueeze(2)).sum(dim=1)
            h, c = self.decode_step(torch.cat([emb[:, t, :], awe], dim=1), (h, c))
            outs.append(self.fc(F.dropout(h, 0.5, self.training)))
        return torch.stack(outs, dim=1)
def attend_decoder(): return AttendDecoder(), (torch.randn(8, 49, 256), torch.randint(0, 1000, (8, 12)))


MODELS = ["minigpt", "unet", "vae", "textlstm", "tcn", "seq2seq", "einsum_attn", "conv3d", "groupnorm", "seq2seq_gru",
          "textcnn", "stacker", "charrnn", "decoder_only", "resblock1d", "hfbert", "dcgan", "pointnet", "seblock",
          "mixer", "gcn", "tinyunet", "deit", "hfgpt2", "wordlm", "wordlm_seqfirst", "transformer_lm_seqfirst",
          "clip_text", "llama", "attend_decoder"]
